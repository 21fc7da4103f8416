"""One collection worker process (``python -m vla_core.data.worker``), driven by vla_core.eval.pool.

Reads a JSON config line ``{"rollout": RolloutConfig, "staging": DIR}``, then JSON jobs.
Each kept episode goes to ``DIR/job-<index>.npz`` (EpisodeArrays.save_npz: atomic, no
pickle); the answer line carries the result and that path. The worker dies with its
parent (Linux), so killing a collection kills its workers too.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

from vla_core.data.rollout import Job, RolloutConfig, RolloutRunner
from vla_core.eval.pool import RESULT_PREFIX


def staging_path(staging: str | Path, index: int) -> Path:
    return Path(staging) / f"job-{index:06d}.npz"


def _die_with_parent() -> None:
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the worker still ends at EOF on stdin
        pass


def main() -> int:
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not corrupt the protocol
    _die_with_parent()
    cfg = json.loads(sys.stdin.readline())
    runner = RolloutRunner(RolloutConfig.from_dict(cfg["rollout"]))
    for line in sys.stdin:
        if not line.strip():
            continue
        job = Job.from_dict(json.loads(line))
        result, episode = runner.run(job)
        if episode is not None:
            path = staging_path(cfg["staging"], job.index)
            episode.save_npz(path, meta=result)
            result["npz"] = str(path)
        out.write(RESULT_PREFIX + json.dumps(result) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
