"""Run a command and write its peak resident set to a JSON file:

    python bench/peak_rss.py OUT.json -- CMD [ARG ...]      # exits with CMD's status

OUT.json: {"returncode": int, "maxrss_kib": int}, maxrss being getrusage(RUSAGE_CHILDREN) after CMD ends:
the largest single process among CMD and the descendants it waited for. Why a launcher: Linux hands a
child the parent's own peak at fork/exec, so a big parent (the bench suite, models loaded) would read
its own size back from RUSAGE_CHILDREN; this small process keeps that floor at a few MiB. Imports
nothing heavy on purpose."""

from __future__ import annotations

import json
import resource
import subprocess
import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    rc = subprocess.call(argv[2:])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    with open(argv[0], "w") as f:
        json.dump({"returncode": rc, "maxrss_kib": peak}, f)
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
