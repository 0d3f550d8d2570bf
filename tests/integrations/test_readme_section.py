"""The README's "Use with FiftyOne / MLflow" section: its commands run, in a folder laid out like the repository.

`tsrgate` lines run as written (results/candidate, tsrgate.yaml and baselines/ are the report
fixture's). FiftyOne's database cannot run on these machines, so the `Dataset.from_dir` line is
checked by running the importer of the dataset type it names on the folder it names (what
from_dir does before it writes to the database), and `fiftyone app launch` by the dataset name.
"""

from __future__ import annotations

import re
import shlex
import shutil

import yaml

from gate.baselines import BaselineStore
from tests.conftest import REPO_ROOT
from tests.absent_backend import ABSENT
from tests.integrations.conftest import require_package

SECTION = "## Use with FiftyOne / MLflow"


def section_commands() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    blocks = re.findall(r"```bash\n(.*?)```", text[start:end if end > 0 else None], re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_section_names_the_commands():
    commands = section_commands()
    assert [c.split()[:3] for c in commands if c.startswith("tsrgate")] == [
        ["tsrgate", "compare", "results/candidate"], ["tsrgate", "export", "fiftyone"],
        ["tsrgate", "baseline", "promote"], ["tsrgate", "signoff", "models/synth-candidate"]]
    assert any("Dataset.from_dir" in c for c in commands) and any(c.startswith("fiftyone app launch") for c in commands)


def test_the_section_commands_run(report_gate, run_cli, tmp_path, monkeypatch):
    fo = require_package("fiftyone", "fiftyone")
    require_package("mlflow", "mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("TSRGATE_BASELINES", raising=False)
    monkeypatch.setenv("TSRGATE_CACHE", str(report_gate.cache))
    monkeypatch.setenv("TSRGATE_SUITES", str(report_gate.suites_dir))
    monkeypatch.setenv("TSRGATE_HISTORY", str(tmp_path / "history.sqlite"))
    shutil.copytree(report_gate.candidate_results, tmp_path / "results" / "candidate")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "synth-candidate").symlink_to(report_gate.candidate_model)
    BaselineStore(tmp_path / "baselines").promote(report_gate.baseline_results, "synth", signed_by="Owner")
    (tmp_path / "tsrgate.yaml").write_text(yaml.safe_dump({
        "suites": ["shapes-clean", "shapes-night"], "backends": ["torch", "onnx", ABSENT], "baseline": "synth",
        "latency": {"warmup": 1, "runs": 2, "images": 2}}))

    dataset_name = None
    for command in section_commands():
        words = shlex.split(command)
        if words[0] == "tsrgate":
            if words[1] == "signoff":
                # Here on the fixture's two suites and three backends, reusing the candidate's results, untimed.
                words += ["--suites", "shapes-clean,shapes-night", "--backends", f"torch,onnx,{ABSENT}", "--no-latency",
                          "--results", "results/candidate"]
            result = run_cli(*words[1:])
            # compare and signoff exit 1 on the fixture's failing candidate; anything else must succeed.
            allowed = (0, 1) if words[1] in ("compare", "signoff") else (0,)
            assert result.exit_code in allowed, f"{command}\n{result.output}"
        elif words[0] == "python":
            code = words[-1]
            found = re.search(r'from_dir\("([^"]+)", fo\.types\.(\w+), name="([^"]+)"', code)
            assert found, code
            folder, type_name, dataset_name = found.groups()
            importer = getattr(fo.types, type_name)().get_dataset_importer_cls()(str(tmp_path / folder))
            with importer:
                samples = list(importer)
            assert len(samples) == 24 * 2 and samples[0].tags  # both suites, failures first
        else:
            assert words[:3] == ["fiftyone", "app", "launch"] and words[3] == dataset_name

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}",
                          registry_uri=f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("tsrgate").experiment_id])
    compare_run = next(r for r in runs if "tsrgate.verdict" in r.data.tags)
    assert compare_run.data.tags["tsrgate.line"] == "synth" and compare_run.data.tags["tsrgate.verdict"] == "fail"
    assert client.get_model_version_by_alias("synth", "baseline-synth").tags["tsrgate.model"] == "shapes-candidate"
    assert (tmp_path / "reports" / "signoff.html").is_file() and (tmp_path / "reports" / "evidence.json").is_file()

