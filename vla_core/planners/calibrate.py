"""Calibrate a learned planner's abstention threshold per head (split conformal, Learn-then-Test).

    python -m vla_core.planners.calibrate outputs/train/kitchen_r_planner/final --dataset data/kitchen_r_calib --risk 0.1

On a held-out calibration dataset (collected with another --seed than the training data),
every step gives the planner's answer and confidence per class head (subtask, instruction,
motion) against the recorded label; ``conformal.calibrate`` picks the lowest threshold whose
selective risk is ≤ ``risk`` with probability ≥ 1 − ``delta``. The thresholds are written into
the checkpoint's config.json (``calibration``); the planner then abstains below them (the
corrections channel asks for help) and ``--mode planner`` reports abstention and risk on the test split.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np


def confidences(ckpt: str, roots: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{head: (confidence (N,), correct (N,))} over every labelled step of the datasets, with the
    history the data records (the previous subtask); answers composed as at inference."""
    from vla_core.data.reader import read_datasets
    from vla_core.planners.learned import PLANNER_FORMAT, PlannerModel, PlannerModelConfig, PlanReader
    from vla_core.policies.checkpoint import load_model
    from vla_core.policies.text import shared_encoder
    from vla_core.training.chunks import build_chunk_data
    from vla_core.training.planner_data import PlannerSampler, judge, planner_labels

    model, _ = load_model(ckpt, PlannerModel, PlannerModelConfig, PLANNER_FORMAT)
    cfg = model.cfg
    episodes, fps = read_datasets(roots)
    text = shared_encoder()
    data = build_chunk_data(episodes, cfg.keypoint_names, text, cfg.path_points, fps=fps, landmarks=cfg.landmarks)
    # labels in the checkpoint's classes (a factor it never saw makes an answer it cannot give: wrong)
    labels = planner_labels(data, episodes, np.arange(len(data)), vocab=(cfg.kinds, cfg.entities, cfg.templates, cfg.motions),
                            unknown=-2)
    sampler = PlannerSampler(data, labels, np.arange(len(data)), cfg.keypoint_names, cfg.landmarks, cfg.aliases, seed=0)
    out = judge(PlanReader(model.eval(), text), sampler, np.arange(len(data)), batch=1024)
    out.pop("path_error")
    return out


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(prog="python -m vla_core.planners.calibrate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="a learned planner checkpoint folder (python -m vla_core.train_planner)")
    ap.add_argument("--dataset", nargs="+", required=True, help="held-out calibration dataset(s)")
    ap.add_argument("--risk", type=float, default=0.1, help="target error rate among the plans acted on (default 0.1)")
    ap.add_argument("--delta", type=float, default=0.1, help="the guarantee holds with probability ≥ 1 − delta")
    args = ap.parse_args(argv)
    from vla_core.planners.conformal import calibrate
    from vla_core.planners.learned import PLANNER_FORMAT
    from vla_core.policies.checkpoint import CONFIG, CheckpointError, read_config, write_config

    try:
        if not (0 < args.risk < 1 and 0 < args.delta < 1):
            raise ValueError(f"--risk and --delta must be in (0, 1), got {args.risk}, {args.delta}")
        doc = read_config(args.checkpoint, PLANNER_FORMAT)
        pairs = confidences(args.checkpoint, args.dataset)
    except (CheckpointError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    cal = {}
    for h, (c, ok) in pairs.items():
        if len(c) == 0:
            continue
        r = calibrate(c, ok, args.risk, args.delta)
        cal[h] = {**r.to_dict(), "threshold": r.threshold if np.isfinite(r.threshold) else None,
                  "dataset": " + ".join(args.dataset), "accuracy": round(float(ok.mean()), 4)}
        print(f"{h:12s} n={r.n:7d}  accuracy {100 * ok.mean():5.1f} %  threshold {r.threshold:.2f}  "
              f"coverage {100 * r.coverage:5.1f} %  risk {100 * r.empirical_risk:4.1f} % (target {100 * args.risk:.0f} %)")
    doc["calibration"] = cal
    write_config(args.checkpoint, doc)
    print(f"wrote the thresholds into {Path(args.checkpoint) / CONFIG}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
