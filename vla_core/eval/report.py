"""Render evaluation results: terminal/markdown tables, a JSON report, a PNG chart."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from vla_core.eval.results import EpisodeResult
from vla_core.eval.stats import CategoryStats

_HEADERS = ("category", "episodes", "success %", "95% CI", "mean length")
_REPORT_KEYS = {"meta", "summary", "episodes"}


def _rows(stats: list[CategoryStats]) -> list[tuple[str, ...]]:
    return [
        (s.category, str(s.n), f"{100 * s.rate:.1f}",
         f"[{100 * s.ci_low:.1f}, {100 * s.ci_high:.1f}]", f"{s.mean_length:.1f}")
        for s in stats
    ]


def format_table(stats: list[CategoryStats]) -> str:
    """Fixed-width table: category left-aligned, numbers right-aligned."""
    rows = [_HEADERS, *_rows(stats)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADERS))]

    def line(r: tuple[str, ...]) -> str:
        cells = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
        return "  ".join(cells)

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule, *(line(r) for r in rows[1:])])


def format_markdown_table(stats: list[CategoryStats]) -> str:
    """GitHub-flavoured markdown table with numeric columns right-aligned."""
    out = ["| " + " | ".join(_HEADERS) + " |", "|:---|" + "---:|" * (len(_HEADERS) - 1)]
    out += ["| " + " | ".join(r) + " |" for r in _rows(stats)]
    return "\n".join(out)


def write_json(path: str | Path, *, meta: dict[str, Any], results: list[EpisodeResult],
               stats: list[CategoryStats]) -> None:
    """Write the report atomically: temp file in the same dir, fsync, then os.replace.

    Same directory so os.replace is a rename on one filesystem (atomic on POSIX);
    a killed run leaves either the old report or the new one, never half a file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "meta": meta,
        "summary": [s.to_dict() for s in stats],
        "episodes": [r.to_dict() for r in results],
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: str | Path) -> tuple[dict[str, Any], list[EpisodeResult], list[CategoryStats]]:
    """Load a report written by `write_json`; malformed content raises ValueError."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(doc, dict) or set(doc) != _REPORT_KEYS:
        keys = sorted(doc) if isinstance(doc, dict) else type(doc).__name__
        raise ValueError(f"{path}: expected top-level keys {sorted(_REPORT_KEYS)}, got {keys}")
    if not isinstance(doc["meta"], dict):
        raise ValueError(f"{path}: 'meta' must be an object")
    for key in ("summary", "episodes"):
        if not isinstance(doc[key], list):
            raise ValueError(f"{path}: '{key}' must be a list")
    try:
        results = [EpisodeResult.from_dict(d) for d in doc["episodes"]]
        stats = [CategoryStats.from_dict(d) for d in doc["summary"]]
    except (ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from e
    return doc["meta"], results, stats


def plot_success(stats: list[CategoryStats], path: str | Path, title: str) -> None:
    """Bar chart of success % per category with 95% Wilson CI error bars; n under each label."""
    import matplotlib

    matplotlib.use("Agg")  # headless: eval runs on machines without a display
    import matplotlib.pyplot as plt

    labels = [f"{s.category}\n(n={s.n})" for s in stats]
    rates = [100 * s.rate for s in stats]
    # Error bars are asymmetric: Wilson intervals are not centred on the rate.
    yerr = [[100 * (s.rate - s.ci_low) for s in stats], [100 * (s.ci_high - s.rate) for s in stats]]
    colors = ["tab:gray" if s.category == "all" else "tab:blue" for s in stats]

    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(stats) + 1.5), 4.0))
    try:
        # clip_on=False: caps at 100% stay visible with the axis pinned to 0-100.
        ax.bar(range(len(stats)), rates, yerr=yerr, capsize=4, color=colors,
               error_kw={"clip_on": False})
        ax.set_xticks(range(len(stats)), labels)
        ax.set_ylim(0, 100)
        ax.set_ylabel("success rate (%)")
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=120)
    finally:
        plt.close(fig)
