"""One evaluation worker process: reads a JSON config line, then JSON jobs; answers
each with a RESULT_PREFIX line. Started by ``sim/eval.py --workers N``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.evaluation import EpisodeRunner, Job  # noqa: E402
from vla_core.eval.pool import RESULT_PREFIX  # noqa: E402


def main() -> int:
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not corrupt the protocol
    cfg = json.loads(sys.stdin.readline())
    runner = EpisodeRunner(cfg)
    for line in sys.stdin:
        if not line.strip():
            continue
        result = runner.run(Job.from_dict(json.loads(line)))
        out.write(RESULT_PREFIX + json.dumps(result.to_dict()) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
