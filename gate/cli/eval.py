"""`tsrgate eval`: COCO-exact metrics for a predictions file, optionally compared with another."""

from __future__ import annotations

from pathlib import Path

import click

SIZE_SCHEMES = ("traffic_sign", "coco")  # = gate.eval.SIZE_SCHEMES, kept here so --help stays light


def _fmt(value: float | None, width: int = 7) -> str:
    if value is None:
        return f"{'n/a':>{width}}"
    if value == -1.0:
        return f"{'-':>{width}}"
    return f"{value:>{width}.4f}"


def _print_result(result, top_classes: int | None = None) -> None:
    from gate.eval import COCO_STATS_LABELS

    click.echo(f"{result.num_images} images, {result.num_ground_truth} ground truths "
               f"({result.num_ignore_regions} ignore regions), {result.num_predictions} predictions")
    click.echo("COCO (pycocotools' definitions and area ranges):")
    for i in range(0, 12, 6):
        click.echo("  " + "  ".join(f"{label:>5} {_fmt(value)}" for label, value in
                                     zip(COCO_STATS_LABELS[i : i + 6], result.coco_stats[i : i + 6])))
    t = result.threshold
    click.echo(f"operating point (score >= {t.score_threshold:g}, IoU 0.5): precision {_fmt(t.precision, 0)}  "
               f"recall {_fmt(t.recall, 0)}  F1 {_fmt(t.f1, 0)}  TP {t.tp}  FP {t.fp}  FN {t.fn}  "
               f"FP/image {_fmt(t.fp_per_image, 0)}")
    click.echo("")
    click.echo(f"size ({result.size_scheme}) {'area':>17} {'gt':>6} {'AP':>7} {'AP50':>7} {'AP75':>7} "
               f"{'AR100':>7} {'P':>7} {'R':>7}")
    for s in result.per_size:
        hi = "inf" if s.area_max >= 1e10 else f"{s.area_max:g}"
        click.echo(f"{s.name:<19} {s.area_min:>6g}-{hi:<6} {s.support:>6} {_fmt(s.ap)} {_fmt(s.ap50)} {_fmt(s.ap75)} "
                   f"{_fmt(s.ar100)} {_fmt(s.precision)} {_fmt(s.recall)}")
    click.echo("")
    width = max([len(c.name) for c in result.per_class] + [5])
    click.echo(f"{'class':<{width}} {'gt':>6} {'dets':>6} {'AP':>7} {'AP50':>7} {'AP75':>7} {'AR100':>7} "
               f"{'P':>7} {'R':>7} {'F1':>7}")
    classes = result.per_class if top_classes is None else result.per_class[:top_classes]
    for c in classes:
        click.echo(f"{c.name:<{width}} {c.support:>6} {c.detections:>6} {_fmt(c.ap)} {_fmt(c.ap50)} {_fmt(c.ap75)} "
                   f"{_fmt(c.ar100)} {_fmt(c.precision)} {_fmt(c.recall)} {_fmt(c.f1)}")
    pairs = result.confusion.pairs()[:5]
    if pairs:
        click.echo("")
        click.echo("most frequent confusions (ground truth -> predicted):")
        for p in pairs:
            click.echo(f"  {p.truth} -> {p.predicted}: {p.count} ({p.rate:.1%} of {p.truth})")
    if result.tide is not None:
        tide = result.tide
        click.echo("")
        click.echo("TIDE errors (count / AP50 gained by fixing): " + "  ".join(
            f"{name} {tide.counts[name]}/{tide.delta_ap50[name]:+.4f}" for name in tide.counts))


def _print_comparison(comparison) -> None:
    click.echo("")
    click.echo(f"paired bootstrap: {comparison.resamples} resamples of {comparison.num_images} images, seed "
               f"{comparison.seed}, {comparison.confidence:.0%} percentile CI; delta = candidate - baseline; "
               "p_worse small = candidate confidently worse")
    click.echo(f"{'metric':<24} {'scope':<28} {'candidate':>9} {'baseline':>9} {'delta':>8} {'CI':>19} "
               f"{'p_worse':>7} {'gt':>6}  status")
    def wanted(d) -> bool:
        if d.metric == "confusion":
            return False
        if d.class_name is None and d.size is None:
            return True  # every metric overall
        if d.class_name is None:
            return d.metric in ("ap", "ap50", "recall_at_threshold")  # per size bucket
        return d.size is None and d.metric in ("ap50", "recall_at_threshold")  # per class

    shown = [d for d in comparison.deltas if wanted(d)]
    order = {m: i for i, m in enumerate(("ap", "ap50", "ap75", "ar100", "precision_at_threshold",
                                          "recall_at_threshold", "f1_at_threshold", "fp_per_image"))}
    shown.sort(key=lambda d: (d.class_name is not None, d.size is not None, order.get(d.metric, 99),
                              d.class_name or "", d.size or ""))
    confusion = [d for d in comparison.deltas if d.metric == "confusion" and d.delta]
    confusion.sort(key=lambda d: -(d.delta or 0))
    for d in [*shown, *confusion[:10]]:
        ci = "n/a" if d.ci_low is None else f"[{d.ci_low:+.4f}, {d.ci_high:+.4f}]"
        click.echo(f"{d.metric:<24} {d.scope_label[:28]:<28} {_fmt(d.value_candidate, 9)} {_fmt(d.value_baseline, 9)} "
                   f"{'n/a' if d.delta is None else format(d.delta, '+.4f'):>8} {ci:>19} "
                   f"{_fmt(d.p_worse)} {d.support:>6}  {d.status}")


@click.command("eval")
@click.argument("annotations", type=click.Path(path_type=Path))
@click.argument("predictions", type=click.Path(path_type=Path))
@click.option("--json", "json_out", type=click.Path(path_type=Path),
              help="Write every number to this JSON file; the match records go beside it as <name>.records.npz.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=0.5, show_default=True,
              help="Operating score threshold for precision/recall/F1, false positives per image and confusions.")
@click.option("--compare", "compare_to", type=click.Path(path_type=Path),
              help="Baseline predictions on the same annotations: print paired-bootstrap deltas "
                   "(PREDICTIONS minus these); with --json also written to <name>.comparison.json.")
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option("--resamples", type=click.IntRange(1), default=1000, show_default=True, help="Bootstrap resamples.")
@click.option("--confidence", type=click.FloatRange(0.5, 1.0, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Bootstrap confidence level.")
@click.option("--min-support", type=click.IntRange(0), default=10, show_default=True,
              help="Classes / size buckets with fewer ground truths are reported as insufficient support.")
@click.option("--size-buckets", type=click.Choice(SIZE_SCHEMES), default="traffic_sign", show_default=True,
              help="Size buckets of the per-size table (coco_stats always use COCO's).")
def eval_command(annotations: Path, predictions: Path, json_out: Path | None, threshold: float,
                 compare_to: Path | None, seed: int, resamples: int, confidence: float, min_support: int,
                 size_buckets: str) -> None:
    """Evaluate COCO results-format PREDICTIONS against COCO ANNOTATIONS (pycocotools-exact AP/AR)."""
    from gate.data.coco import load_coco
    from gate.eval import evaluate_records, ground_truth_arrays, load_predictions, match, paired_bootstrap

    gt = ground_truth_arrays(load_coco(annotations), source=annotations)
    records = match(gt, load_predictions(predictions, gt))
    result = evaluate_records(records, score_threshold=threshold, size_buckets=size_buckets)
    _print_result(result)
    comparison = None
    if compare_to is not None:
        baseline = match(gt, load_predictions(compare_to, gt))
        comparison = paired_bootstrap(records, baseline, candidate_threshold=threshold, resamples=resamples,
                                      confidence=confidence, seed=seed, min_support=min_support,
                                      size_buckets=size_buckets)
        _print_comparison(comparison)
    if json_out is not None:
        result.save(json_out, records=records)
        click.echo(f"\nwrote {json_out}")
        if comparison is not None:
            path = json_out.with_name(json_out.stem + ".comparison.json")
            comparison.save(path)
            click.echo(f"wrote {path}")


COMMANDS = [eval_command]
