"""Stage timings: summed per name, a nested stage of the same name counted once, written only when asked."""

from __future__ import annotations

import json

from gate.stages import STAGE_TIMES_ENV, reset_stage_times, stage, stage_times, timed, write_stage_times


def test_stages_sum_their_blocks_and_nest_without_double_counting(monkeypatch):
    clock = iter([0.0, 1.0, 10.0, 10.5, 20.0, 20.25, 30.0, 31.0, 33.0, 34.0]).__next__
    monkeypatch.setattr("gate.stages.time.perf_counter", clock)
    reset_stage_times()
    with stage("predict torch"):  # 0 -> 1
        pass
    with stage("predict torch"):  # 10 -> 10.5
        pass

    @timed("report")
    def report():
        with stage("report"):  # inside itself: not counted again
            pass

    report()  # 20 -> 20.25
    with stage("bootstrap"):  # 30 -> 34, around latency 31 -> 33 (different stages both count)
        with stage("latency"):
            pass
    times = stage_times()
    assert times["predict torch"] == 1.5
    assert times["report"] == 0.25
    assert times["bootstrap"] == 4.0 and times["latency"] == 2.0
    assert set(times) == {"predict torch", "report", "bootstrap", "latency"}


def test_stage_times_are_written_only_when_the_variable_names_a_file(monkeypatch, tmp_path):
    reset_stage_times()
    with stage("evaluate"):
        pass
    monkeypatch.delenv(STAGE_TIMES_ENV, raising=False)
    write_stage_times({"total": 1.0})
    assert list(tmp_path.iterdir()) == []
    target = tmp_path / "times.json"
    monkeypatch.setenv(STAGE_TIMES_ENV, str(target))
    write_stage_times({"total": 1.0})
    written = json.loads(target.read_text())
    assert set(written["stages"]) == {"evaluate"} and written["total"] == 1.0
