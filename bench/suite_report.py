"""The suite report's shape: sections of figures, each with its ratio to a baseline measured in the
same run, written as JSON and Markdown."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Section:
    title: str
    what: str = ""  # exactly what was timed or counted
    baseline: str = ""  # what every row's ratio divides by
    rows: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    status: str = "ok"  # ok | skipped | error
    reason: str | None = None  # why skipped, or the error
    seconds: float = 0.0  # the section's own wall time

    def add(self, figure: str, value: float, unit: str, ratio: float | None, **extra) -> dict:
        row = {"figure": figure, "value": _sig(value), "unit": unit, "ratio": None if ratio is None else _sig(ratio),
               **extra}
        self.rows.append(row)
        print(f"  {figure}: {_num(row['value'])} {unit}" + (f" ({_num(row['ratio'])}×)" if ratio is not None else ""),
              flush=True)
        return row

    def skip(self, reason: str) -> None:
        self.status, self.reason = "skipped", reason

    def fail(self, error: str) -> None:
        self.status, self.reason = "error", error


def _sig(v: float) -> float:
    return float(f"{float(v):.4g}")  # 4 significant digits: a 10 µs call keeps its size next to a 200 ms one


def _num(v: float) -> str:
    a = abs(v)
    return f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}" if a >= 0.1 or a == 0 else f"{v:.2g}"


def section_md(s: Section) -> list[str]:
    lines = [f"## {s.title}", ""]
    if s.status == "skipped":
        return lines + [f"Skipped: {s.reason}", ""]
    if s.status == "error":
        lines += [f"**Error:** `{s.reason}`", ""]
    if s.what:
        lines.append(f"Timed: {s.what}  ")
    if s.baseline:
        lines.append(f"Baseline (× column): {s.baseline}")
    if s.rows:
        lines += ["", "| figure | value | unit | × baseline |", "|---|---:|---|---:|"]
        lines += [f"| {r['figure']} | {_num(r['value'])} | {r['unit']} | "
                  f"{'–' if r['ratio'] is None else _num(r['ratio'])} |" for r in s.rows]
    lines += [""] + [f"- {n}" for n in s.notes] + ([""] if s.notes else [])
    return lines


def write(report: dict, sections: dict[str, Section], out: Path) -> None:
    """report.json (``report`` + every section) and report.md under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    doc = {**report, "sections": {k: asdict(s) for k, s in sections.items()}}
    (out / "report.json").write_text(json.dumps(doc, indent=2) + "\n")
    m = report["machine"]
    lines = ["# Benchmarks", "", f"Command: `{report['command']}` · {report['date']} · {m['cpu_count']} CPUs "
             f"({m['platform']}) · torch {m['torch']}, {m['torch_threads']} thread(s) for the latency sections · "
             f"rendering {m['gl']} · load average {m['load_avg_1m_start']} at the start, "
             f"{m['load_avg_1m_end']} at the end · {report['wall_s']:.0f} s in all", "",
             "Every ratio divides by a baseline measured in this same run; each section names its own.", ""]
    for s in sections.values():
        lines += section_md(s)
    (out / "report.md").write_text("\n".join(lines))
