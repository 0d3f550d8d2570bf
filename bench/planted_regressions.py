"""Planted regressions on a model's real detections on a drive suite: frame AP against the sequence metrics.

    python bench/planted_regressions.py RESULTS_FOLDER SUITE

RESULTS_FOLDER holds torch detections on the drive suite SUITE (e.g. `tsrgate run models/synth-baseline
--suites drive-day --backends torch --out R`). Prints, per planted regression (gate.run.planted), the
frame AP/AP50/recall deltas (200 image resamples) and the sequence metrics with drive-bootstrap CIs (500).
"""
import sys
import numpy as np
from gate.run import load_run
from gate.run.detections_store import load_detections
from gate.suites import open_suite
from gate.compare.sequences import frame_truth
from gate.backends.detections import detections_to_coco_results
from gate.suites.resolved import category_table
from gate.eval import evaluate_with_records, paired_bootstrap
from gate.eval.sequence import evaluate_sequences, paired_sequence_bootstrap, FrameDetections, ConfirmationRule

res = sys.argv[1]
rec = load_run(res)
suite = open_suite(rec.suite(sys.argv[2]).folder)
dets = load_detections(res + "/suites/" + sys.argv[2] + "/torch/detections.npz")
m = suite.manifest; truth = frame_truth(m); table = m.sequence
thr = rec.model.score_threshold
names = {c.id: c.name for c in m.taxonomy.coco_categories()}
cmap = {i: m.taxonomy.model_category_id(n) for i, n in enumerate(rec.model.class_names)}

def seq(ds):
    out = {}
    for d in ds:
        keep = [j for j in range(len(d.scores)) if d.scores[j] >= thr and cmap.get(int(d.labels[j])) is not None]
        out[d.image_id] = FrameDetections(d.boxes[keep].astype(float).reshape(-1,4), np.array([cmap[int(d.labels[j])] for j in keep], np.int64), d.scores[keep].astype(float))
    return evaluate_sequences(table, truth, out, names, ConfirmationRule())

def frame(ds):
    r, recs = evaluate_with_records(suite.coco, detections_to_coco_results(ds, category_table(suite, rec.model.class_names), skip_unmapped=True), score_threshold=thr)
    return recs

base_seq, base_rec = seq(dets), frame(dets)

from gate.run.planted import late_recognition as lr, class_swap_every_third
variants = [("visible 40% drop", lr(dets, table, truth, 0.4)),
            ("detected 40% drop", lr(dets, table, truth, 0.4, basis="detected", threshold=thr)),
            ("detected 40% demote", lr(dets, table, truth, 0.4, basis="detected", threshold=thr, demote=0.5)),
            ("visible 40% demote", lr(dets, table, truth, 0.4, demote=0.5))]
model_of = {c.id: rec.model.class_names.index(c.name) for c in m.taxonomy.coco_categories()
            if c.name in rec.model.class_names}
model_limits = [i for i, n in enumerate(rec.model.class_names) if n.startswith("speed_limit_")]
variants.append(("swap", class_swap_every_third(dets, table, truth, model_of, model_limits)))
for name, planted in variants:
    fb = paired_bootstrap(frame(planted), base_rec, candidate_threshold=thr, resamples=200)
    ap = fb.find("ap"); ap50 = fb.find("ap50"); rc = fb.find("recall_at_threshold")
    sb = {(d.metric, d.class_name): d for d in paired_sequence_bootstrap(seq(planted), base_seq, resamples=500)}
    def f(k, digits=3):
        d = sb[(k, None)]
        return f"{k[:24]} {d.value_baseline:.{digits}f}->{d.value_candidate:.{digits}f} [{d.ci_low:+.{digits}f},{d.ci_high:+.{digits}f}]"
    print(f"{name}: AP {ap.value_baseline:.3f}->{ap.value_candidate:.3f} ({ap.delta:+.3f} [{ap.ci_low:+.3f},{ap.ci_high:+.3f}]) AP50 {ap50.delta:+.3f} recall {rc.delta:+.3f}")
    print("   ", f("sign_recognised_before_passing"), f("first_confirmation_distance_median", 1), f("first_confirmation_distance_p10", 1))
    print("   ", f("speed_limit_accuracy"), f("speed_limit_change_accuracy"), f("flicker_rate"), f("false_sign_events_per_km", 1))
