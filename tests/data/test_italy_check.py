"""`tsrgate data check` on the shared Italy copy: its one genuine finding is reviewed and accepted.

Skipped with a reason when ../shared/datasets/italy (or $TSRGATE_ITALY) is absent.
"""

from __future__ import annotations

import pytest

from gate.data.check import check_dataset
from gate.data.coco import load_coco
from gate.data.splits import SeededSplit, in_split


@pytest.fixture(scope="module")
def italy_report_without_acceptances(italy_path):
    from gate.data.check import AcceptedFindings

    return check_dataset(italy_path, accept=AcceptedFindings())


def test_italy_has_exactly_one_genuine_finding(italy_report_without_acceptances):
    assert [(p.kind, p.file) for p in italy_report_without_acceptances.problems] == [
        ("near_duplicate_image", "images/italy_01714.jpg"),
    ]


def test_the_near_duplicate_pair_is_on_one_side_of_the_split(italy_path):
    coco = load_coco(italy_path / "annotations.json")
    pair = [img for img in coco.images if img.file_name in ("italy_01714.jpg", "italy_01717.jpg")]
    train = SeededSplit(seed=17, test_fraction=0.3, part="train")
    assert len(pair) == 2 and all(in_split(img, train) for img in pair)


def test_italy_check_cli_exits_0_with_the_reviewed_finding(run_cli, italy_path):
    result = run_cli("data", "check", italy_path)
    assert result.exit_code == 0, result.output
    assert "images: 533 (0 without boxes)   boxes: 1281" in result.output
    assert "accepted findings (1, reviewed in gate/data/accepted/italy.yaml):" in result.output
    assert "no problems found" in result.output
