"""A checkpoint's card: how it was made (command, data, seed) and what it reached (an eval report).

    python -m vla_core.policies.card checkpoints/kitchen_r_flow --report docs/results/kitchen_r_flow_test.json \
        --collect "python -m vla_core.collect --episodes 600 --out data/kitchen_r_expert --workers 2 --seed 0"

Everything on the card is read from the checkpoint's config.json (written by vla_core.train)
and the report sim/eval.py wrote, never typed in: the numbers are the measured ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vla_core.policies.checkpoint import CARD, CheckpointError, lineage, read_config


def card_text(cfg: dict, report: dict, collect: str | None = None, name: str | None = None,
              commands: list[str] | None = None) -> str:
    """``cfg``: a checkpoint's config.json; ``report``: sim/eval.py's JSON report of it;
    ``commands``: the training commands that made it, warm-start ancestors first (default: its own)."""
    model, train, data = cfg["model"], cfg.get("train", {}), cfg.get("data", {})
    meta = report["meta"]
    rows = ["| category | episodes | success % | 95% CI | mean length |", "|---|---:|---:|---|---:|"]
    for s in report["summary"]:
        rows.append(f"| {s['category']} | {s['n']} | {100 * s['rate']:.1f} | [{100 * s['ci_low']:.1f}, "
                    f"{100 * s['ci_high']:.1f}] | {s['mean_length']:.0f} |")
    chains = meta.get("chains")  # CALVIN's protocol: instructions done in a row, average length
    if chains:
        rows += ["", "| instructions done in a row | " + " | ".join(chains["in_a_row"]) + " | avg. length |",
                 "|---|" + "---:|" * (len(chains["in_a_row"]) + 1),
                 f"| {chains['chains']} chains | " + " | ".join(f"{100 * v:.1f} %" for v in chains["in_a_row"].values())
                 + f" | {chains['avg_len']:.2f} |"]
    planner = meta.get("config", {}).get("planner", {})
    made = "\n".join(c for c in (collect, *(commands or [cfg.get("command")])) if c)
    return f"""# {name or meta.get('bench', '')} {model['kind']} chunk policy

Plan-conditioned {model['kind']} action-chunk policy: {cfg.get('parameters', 0):,} parameters,
H={model['horizon']} actions per chunk, {model['n_exec']} executed, {model['sampler']} sampling with
{model['infer_steps']} steps; observations: proprio + keypoints{' + ' + ', '.join(model['cameras']) if model.get('cameras') else ''}.

## How it was made

```bash
{made}
```

- data: `{data.get('dataset')}`: {data.get('episodes')} episodes, {data.get('frames', 0):,} frames
- seed {train.get('seed')}, {cfg.get('step')} steps, batch {train.get('batch_size')}, lr {train.get('lr')}; EMA weights
- plan mix: `{json.dumps(train.get('plan_mix'))}`
- model: `{json.dumps(model)}`

## Metrics

- validation loss: {cfg.get('metrics', {}).get('val_loss')}
- {meta.get('bench')} {meta.get('split')} split, {meta.get('mode')} mode (planner {planner.get('name', meta.get('planner'))}
  {planner.get('kind') or ''}), seed {meta.get('seed')}, commit {meta.get('commit')}, measured by:
  `{meta.get('command')}`

{chr(10).join(rows)}
"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m vla_core.policies.card", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="checkpoint folder (config.json + model.safetensors)")
    ap.add_argument("--report", required=True, help="sim/eval.py JSON report of this checkpoint")
    ap.add_argument("--collect", help="the command that made its dataset")
    ap.add_argument("--name", help="title prefix (default: the report's bench)")
    args = ap.parse_args(argv)
    try:
        cfg = read_config(args.checkpoint)
        report = json.loads(Path(args.report).read_text())
        evaluated = (report.get("meta", {}).get("config", {}).get("policy") or {}).get("checkpoint")
        if not evaluated or Path(evaluated).resolve() != Path(args.checkpoint).resolve():
            print(f"error: {args.report} evaluated {evaluated or 'no checkpoint'}, not {args.checkpoint}",
                  file=sys.stderr)
            return 2
        text = card_text(cfg, report, args.collect, args.name, lineage(args.checkpoint))
    except (CheckpointError, OSError, json.JSONDecodeError, KeyError) as e:
        print(f"error: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    (Path(args.checkpoint) / CARD).write_text(text)
    print(f"wrote {Path(args.checkpoint) / CARD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
