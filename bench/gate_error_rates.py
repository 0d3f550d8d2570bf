"""How often does the gate cry wolf, and how often does it see a real regression? Measured on real detections.

False alarms: exchangeable null pairs made from two models' stored detections without re-running
either. For each image a fair coin decides whether the two models' detections swap sides, so both
sides of a pair have the same quality in distribution; any FAIL is a false alarm. Every pair goes
through the real compare (gate.compare.comparisons.suite_accuracy_rows: the paired bootstrap of the
two sides' match records, then gate.policy.apply_policy with the default policy) on every suite, and
the verdict is taken with each multiplicity method (holm, bh, none) on the same rows.

Power: regressions of known size planted into one side of a null pair, on one suite at a time (the
other suites' rows come from the first null pair, so the family has its full size):
- drop: each detection that matches a ground truth of the suite's best-supported safety class is
  removed with probability p (re-matched, so a lower detection may take its place), judged by the
  safety-class-recall rule on that class;
- shift: every box moves right by a fraction of its width, judged by suite-ap;
- lower: that class's scores are multiplied by a factor below 1, judged by safety-class-recall.
At each size the fraction of pairs whose targeted rule FAILs, next to the mean measured worsening,
and the worsening at which 80% are caught (linear interpolation) beside what `tsrgate suite power`
predicts (allowed change + MDC at the paired SE, family size of a full compare).

Usage (CPU-heavy; on a shared machine run it niced):
  nice -n 15 python bench/gate_error_rates.py --candidate RESULTS [--baseline synth] [--pairs 200]
      [--resamples 200] [--power-pairs 20] [--power-suites clean small] [--out bench-out/error_rates.json]

`--resamples` overrides the default policy's 1,000 bootstrap resamples to keep the cost per pair
small: a rule's p-value and MDC use only the bootstrap standard error, whose relative error is about
1 / sqrt(2 (B - 1)) (16% at B = 20, 7% at B = 100). A noisier SE can only raise the measured
false-alarm rate (the normal tail is convex in 1 / SE far out), so a rate measured with few
resamples is an upper bound for the policy's 1,000.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gate.compare.comparisons import suite_accuracy_rows  # noqa: E402
from gate.compare.power import suite_power  # noqa: E402
from gate.compare.results_records import torch_records  # noqa: E402
from gate.eval.groundtruth import GroundTruthArrays  # noqa: E402
from gate.eval.matching import match_predictions  # noqa: E402
from gate.eval.predictions import PredictionArrays  # noqa: E402
from gate.eval.records import MatchRecords  # noqa: E402
from gate.policy import Policy, apply_policy, load_policy  # noqa: E402
from gate.results.opened import load_run  # noqa: E402
from gate.compare.compare import resolve_results  # noqa: E402

METHODS = ("holm", "bh", "none")
SAFETY = ("stop", "give_way", "no_entry", "speed_limit_", "us_speed_limit_", "us_stop")
DET_FIELDS = ("det_image", "det_category", "det_score", "det_bbox", "det_rank", "det_index", "det_tp", "det_ignored",
              "det_gt50", "det_agnostic_gt", "det_in_ignore", "det_tide", "det_tide_gt")


def mix(first: MatchRecords, second: MatchRecords, take_first: np.ndarray) -> MatchRecords:
    """Per image, the detections of `first` where take_first, else of `second` (records reused, not re-matched)."""
    a = take_first[first.det_image]
    b = ~take_first[second.det_image]
    merged = {f: np.concatenate([getattr(first, f)[a], getattr(second, f)[b]]) for f in DET_FIELDS}
    order = np.argsort(merged["det_image"], kind="stable")  # within an image all rows come from one side
    merged = {f: v[order] for f, v in merged.items()}
    merged["det_index"] = np.arange(order.size, dtype=np.int64)
    return replace(first, **merged)


def rematch(records: MatchRecords, score: np.ndarray, bbox: np.ndarray, keep: np.ndarray) -> MatchRecords:
    """Match changed detections against the same ground truth again (exact COCO rules)."""
    gt = GroundTruthArrays(
        image_ids=records.image_ids, category_ids=records.category_ids, category_names=records.category_names,
        image=records.gt_image, category=records.gt_category, bbox=records.gt_bbox, area=records.gt_area,
        ignore=records.gt_ignore, annotation_id=records.gt_annotation_id)
    preds = PredictionArrays(
        image_id=records.image_ids[records.det_image[keep]], category_id=records.category_ids[records.det_category[keep]],
        bbox=bbox[keep], score=score[keep])
    out = match_predictions(gt, preds, area_ranges=tuple(map(tuple, records.area_ranges)), max_dets=records.max_dets)
    return replace(out, gt_signature=records.gt_signature)  # same ground truth, held in sorted order


def plant(records: MatchRecords, kind: str, size: float, class_index: int, rng: np.random.Generator) -> MatchRecords:
    score, bbox = records.det_score.copy(), records.det_bbox.copy()
    keep = np.ones(records.num_detections, dtype=bool)
    if kind == "drop":
        true_of_class = (records.det_gt50 >= 0) & (records.det_category == class_index)
        keep &= ~(true_of_class & (rng.random(keep.size) < size))
    elif kind == "shift":
        bbox[:, 0] += size * bbox[:, 2]
    elif kind == "lower":
        score[records.det_category == class_index] *= (1.0 - size)
    else:
        raise ValueError(kind)
    return rematch(records, score, bbox, keep)


def with_method(policy: Policy, method: str) -> Policy:
    return policy.model_copy(update={"multiplicity": policy.multiplicity.model_copy(update={"method": method})})


def suite_rows(policy, suite, cand, base, threshold):
    return suite_accuracy_rows(policy, suite, "torch", cand, base, candidate_threshold=threshold,
                               baseline_threshold=threshold)


def best_safety_class(records: MatchRecords) -> int:
    support = np.bincount(records.gt_category[~records.gt_ignore], minlength=records.num_categories)
    names = records.category_names
    safety = [k for k, n in enumerate(names) if any(n == s or (s.endswith("_") and n.startswith(s)) for s in SAFETY)]
    return max(safety, key=lambda k: support[k])


def interpolate_80(points: list[dict]) -> float | None:
    """The measured worsening at which the catch rate first reaches 80% (linear between sizes)."""
    prev = None
    for p in sorted(points, key=lambda q: q["mean_worsening"]):
        if p["caught"] >= 0.8:
            if prev is None:
                return p["mean_worsening"]
            x0, y0, x1, y1 = prev["mean_worsening"], prev["caught"], p["mean_worsening"], p["caught"]
            return x0 + (0.8 - y0) * (x1 - x0) / (y1 - y0) if y1 > y0 else x1
        prev = p
    return None


def merge(paths: list[Path]) -> int:
    """The false-alarm rates over several runs' null pairs (disjoint --first-pair ranges)."""
    runs = [json.loads(p.read_text()) for p in paths]
    pairs = sum(r["pairs"] for r in runs)
    fails = {m: sum(r["fails"][m] for r in runs) for m in METHODS}
    rules = {m: {} for m in METHODS}
    for r in runs:
        for m in METHODS:
            for rule, n in r["failing_rules"][m].items():
                rules[m][rule] = rules[m].get(rule, 0) + n
    sizes = [s for r in runs for s in r["family_sizes"]]
    print(json.dumps({"pairs": pairs, "false_alarm_rate": {m: fails[m] / max(pairs, 1) for m in METHODS},
                      "fails": fails, "failing_rules": rules,
                      "family_size": {"min": min(sizes), "median": int(np.median(sizes)), "max": max(sizes)}}, indent=1))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidate", required=True, help="results folder of the second model (e.g. the demo's candidate)")
    parser.add_argument("--baseline", default="synth", help="results folder or baseline line (default: synth)")
    parser.add_argument("--pairs", type=int, default=200)
    parser.add_argument("--first-pair", type=int, default=0,
                        help="index of the first null pair (to split the pairs over processes; merge with --merge)")
    parser.add_argument("--merge", nargs="*", type=Path, default=None,
                        help="only merge the null-pair counts of these output files and print the rates")
    parser.add_argument("--resamples", type=int, default=200)
    parser.add_argument("--power-pairs", type=int, default=20)
    parser.add_argument("--power-suites", nargs="*", default=["clean", "small"])
    parser.add_argument("--sizes", default="drop:0.1,0.2,0.35,0.5;shift:0.03,0.06,0.1,0.15;lower:0.1,0.2,0.3,0.45")
    parser.add_argument("--out", type=Path, default=Path("bench-out/error_rates.json"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.merge:
        return merge(args.merge)

    policy, _ = load_policy()
    policy = policy.model_copy(update={"defaults": policy.defaults.model_copy(update={"resamples": args.resamples})})
    base_run = load_run(resolve_results(args.baseline))
    cand_run = load_run(resolve_results(args.candidate))
    suites = [s.name for s in base_run.suites if cand_run.suite(s.name) is not None]
    data = {}
    for suite in suites:
        base, thr_b, base_label = torch_records(args.baseline, suite)
        cand, thr_c, cand_label = torch_records(args.candidate, suite)
        if base.gt_signature != cand.gt_signature:
            print(f"skip {suite}: the two sides were evaluated on different ground truth")
            continue
        if thr_b != thr_c:
            raise SystemExit(f"operating thresholds differ ({thr_b} vs {thr_c}); a swap needs one threshold")
        data[suite] = (base, cand)
    threshold = thr_b
    print(f"{base_label} vs {cand_label} on {len(data)} suites ({', '.join(data)}); {args.pairs} null pairs, "
          f"{args.resamples} resamples, policy {policy.name} (multiplicity alpha {policy.multiplicity.alpha})", flush=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    result: dict = {"baseline": base_label, "candidate": cand_label, "suites": list(data), "resamples": args.resamples,
                    "pairs": 0, "fails": {m: 0 for m in METHODS}, "family_sizes": [], "failing_rules": {m: {} for m in METHODS}}
    first_rows: dict[str, list] = {}
    started = time.time()
    for i in range(args.first_pair, args.first_pair + args.pairs):
        rng = np.random.default_rng([args.seed, i])
        rows = []
        for suite, (base, cand) in data.items():
            flip = rng.random(base.num_images) < 0.5
            suite_side = suite_rows(policy, suite, mix(cand, base, flip), mix(base, cand, flip), threshold)
            rows += suite_side
            if i == args.first_pair:
                first_rows[suite] = suite_side
        for method in METHODS:
            outcomes = apply_policy(with_method(policy, method), rows)
            failing = sorted({o.rule_id for o in outcomes if o.outcome == "fail"})
            if failing:
                result["fails"][method] += 1
                for rule in failing:
                    result["failing_rules"][method][rule] = result["failing_rules"][method].get(rule, 0) + 1
            if method == policy.multiplicity.method or method == "holm":
                family = sum(1 for o in outcomes if o.in_family)
        result["family_sizes"].append(family)
        result["pairs"] += 1
        done = result["pairs"]
        args.out.write_text(json.dumps(result, indent=1))  # every pair: a stopped run still counts what it did
        if done % 10 == 0 or done == args.pairs:
            rates = ", ".join(f"{m} {result['fails'][m] / done:.3f}" for m in METHODS)
            print(f"null pairs {done}/{args.pairs} ({time.time() - started:.0f} s): false-alarm rate {rates}", flush=True)
    family_size = int(np.median(result["family_sizes"]))

    result["power"] = []
    plans = {}
    for spec in args.sizes.split(";"):
        kind, sizes = spec.split(":")
        plans[kind] = [float(s) for s in sizes.split(",")]
    setups = {}
    for suite in args.power_suites:
        if suite not in data:
            print(f"power: suite {suite} not compared; skipped")
            continue
        base, cand = data[suite]
        k = best_safety_class(base)
        others = [r for s, rows in first_rows.items() if s != suite for r in rows]
        predicted = suite_power(policy, suite, cand, threshold, baseline=base, baseline_threshold=threshold,
                                family_size=family_size)
        setups[suite] = (base, cand, k, others, predicted)
    for kind, sizes in plans.items():  # kind-major: every suite gets the first kind before the next kind
        for suite, (base, cand, k, others, predicted) in setups.items():
            class_name = base.category_names[k]
            rule, scope = ("suite-ap", "overall") if kind == "shift" else ("safety-class-recall", class_name)
            pred = next((r for r in predicted.rows if r.rule_id == rule and r.scope == scope), None)
            points = []
            for size in sizes:
                caught, worsening = 0, []
                for j in range(args.power_pairs):
                    rng = np.random.default_rng([args.seed, 10_000 + j])
                    flip = rng.random(base.num_images) < 0.5
                    side_a, side_b = mix(cand, base, flip), mix(base, cand, flip)
                    planted = plant(side_a, kind, size, k, rng)
                    outcomes = apply_policy(policy, others + suite_rows(policy, suite, planted, side_b, threshold))
                    target = next(o for o in outcomes if o.rule_id == rule and o.suite == suite
                                  and (o.class_name or "overall") == scope)
                    caught += target.outcome == "fail"
                    worsening.append(-(target.delta or 0.0))
                point = {"size": size, "caught": caught / args.power_pairs, "mean_worsening": float(np.mean(worsening))}
                points.append(point)
                print(f"power {suite} {kind} {size:g} ({rule} {scope}): caught {point['caught']:.2f}, "
                      f"mean worsening {point['mean_worsening']:.3f}", flush=True)
            entry = {"suite": suite, "kind": kind, "rule": rule, "scope": scope, "points": points,
                     "measured_80": interpolate_80(points),
                     "predicted_80": None if pred is None else pred.caught_at,
                     "predicted_mdc": None if pred is None else pred.mdc,
                     "allowed": None if pred is None else pred.allowed_change, "family_size": family_size}
            result["power"].append(entry)
            print(f"  80% caught at worsening {entry['measured_80']}; suite power predicts {entry['predicted_80']}",
                  flush=True)
            args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps({"false_alarm_rate": {m: result["fails"][m] / max(result["pairs"], 1) for m in METHODS},
                      "pairs": result["pairs"], "family_size": family_size}, indent=1))
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
