"""The report view of a verdict: every piece a report shows, built once and shared by HTML, Markdown and JUnit.

The pieces that come from the verdict alone (rule outcomes by kind, regressions, backend statuses) are
built when the view is made. The pieces that need the results folders or render pictures (PR panels,
TIDE, confusions, consistency, parity, latency, gallery, history, drive timelines) are built on first use
and then kept, so `write_verdict_reports` opens each results folder once for all three formats, and a
Markdown-only or JUnit-only call never opens them at all.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from gate.policy import RuleOutcome
from gate.report import sections
from gate.report.evidence import VerdictEvidence
from gate.report.grouping import OutcomeGroup, group_outcomes
from gate.results.verdict import GateVerdict


class ReportView:
    """One verdict as its reports see it (see the module docstring for what is built when)."""

    def __init__(self, verdict: GateVerdict, *, cache: str | Path | None = None,
                 suites_dir: str | Path | None = None, data: str | Path | None = None,
                 history_db: str | Path | None = None, gallery_per_kind: int = 3):
        self.verdict = verdict
        self.cache, self.suites_dir, self.data = cache, suites_dir, data
        self.history_db = history_db
        self.gallery_per_kind = gallery_per_kind
        self.outcomes: dict[str, list[RuleOutcome]] = {
            kind: sections.sorted_outcomes(verdict, (kind,)) for kind in sections.OUTCOME_ORDER
        }
        self.flagged = sections.sorted_outcomes(verdict, ("fail", "warn"))
        # warnings and cannot-detect rows grouped rule x suite (one line each, worst first)
        self.warning_groups: list[OutcomeGroup] = group_outcomes(self.outcomes["warn"])
        self.undetectable = self.outcomes["cannot_detect"]
        self.undetectable_groups: list[OutcomeGroup] = group_outcomes(self.undetectable)
        self.multiplicity = verdict.multiplicity  # None for verdicts written before multiplicity control
        # the preprocessing finding, named before any metric when the candidate's preprocessing changed
        self.preprocessing_change = (verdict.preprocessing if verdict.preprocessing is not None
                                     and verdict.preprocessing.changed else None)
        self.not_judged = self.outcomes["insufficient_support"] + self.outcomes["not_run"]
        self.min_support = sections.min_support(verdict)
        self.backends = sections.backend_statuses(verdict)
        self.regressions = sections.top_regressions(verdict, count=10)  # the HTML shows 10, Markdown the first 3
        self.backend = sections.report_backend(verdict)  # the form the per-class sections show
        self.worst = sections.worst_class(verdict, self.backend)
        self.sizes = sections.size_rows(verdict, self.backend)

    @classmethod
    def of(cls, source: GateVerdict | ReportView, **options) -> ReportView:
        """`source` itself when it is already a view, else the view of the verdict."""
        return source if isinstance(source, ReportView) else cls(source, **options)

    @cached_property
    def evidence(self) -> VerdictEvidence:
        return VerdictEvidence(self.verdict)

    @cached_property
    def tide(self) -> list[sections.TideRow]:
        return sections.tide_rows(self.verdict, self.evidence, self.backend)

    @cached_property
    def confusions(self) -> list[sections.ConfusionRow]:
        return sections.worse_confusions(self.verdict, self.evidence, self.backend)

    @cached_property
    def backend_ap(self) -> dict[str, dict[str, sections.BackendApCell]]:
        return sections.backend_ap_table(self.verdict, self.evidence)

    @cached_property
    def consistency(self) -> list[sections.ConsistencyRow]:
        return sections.consistency_rows(self.verdict, self.evidence)

    @cached_property
    def latency(self) -> list[sections.LatencyRow]:
        return sections.latency_rows(self.verdict, self.evidence)

    @cached_property
    def parity(self):
        return self.evidence.candidate.parity()

    @cached_property
    def sequences(self):
        """Drive suites: per suite and backend, the sequence rows and the worst drives' timeline strips."""
        from gate.report.sequences import sequence_sections

        return sequence_sections(self.verdict)

    @cached_property
    def gallery(self):
        from gate.report.gallery import build_gallery

        return build_gallery(self.evidence, per_kind=self.gallery_per_kind, backend=self.backend, cache=self.cache,
                             suites_dir=self.suites_dir, data=self.data)

    @cached_property
    def trend(self):
        from gate.report.history import model_history

        names = sorted({self.verdict.candidate.model.name, self.verdict.baseline.model.name})
        return model_history(names, self.history_db, backend=self.backend)
