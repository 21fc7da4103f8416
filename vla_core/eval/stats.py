"""Success-rate statistics per task category, with Wilson confidence intervals."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from typing import Any

from vla_core.eval.results import EpisodeResult

ALL = "all"


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (z=1.96 -> 95%).

    Preferred over the normal approximation because eval runs are small and
    rates often sit at 0% or 100%, where the normal interval collapses to a point.
    n=0 carries no information -> (0.0, 1.0).
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # the interval contains p by construction; min/max only absorb rounding (at p = 0 or 1 the
    # bound lands a hair past p, and the chart's error bars must not go negative)
    return max(0.0, min(p, center - half)), min(1.0, max(p, center + half))


@dataclass
class CategoryStats:
    category: str
    n: int
    successes: int
    rate: float  # fraction in [0, 1]
    ci_low: float
    ci_high: float
    mean_length: float  # env steps, over all episodes in the category
    mean_goals_met_frac: float  # mean of goals_met / goals_total

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CategoryStats:
        if not isinstance(d, dict):
            raise ValueError(f"CategoryStats.from_dict expects a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        if set(d) != names:
            raise ValueError(
                f"invalid CategoryStats: unknown keys {sorted(set(d) - names)}, "
                f"missing keys {sorted(names - set(d))}"
            )
        return cls(**d)


def _stats(category: str, results: list[EpisodeResult]) -> CategoryStats:
    n = len(results)
    k = sum(r.succeeded for r in results)
    lo, hi = wilson_interval(k, n)
    # An episode with no subtasks is all-or-nothing: count it as its success.
    fracs = [r.goals_met / r.goals_total if r.goals_total > 0 else float(r.succeeded)
             for r in results]
    return CategoryStats(
        category=category, n=n, successes=k, rate=k / n if n else 0.0, ci_low=lo, ci_high=hi,
        mean_length=sum(r.length for r in results) / n if n else 0.0,
        mean_goals_met_frac=sum(fracs) / n if n else 0.0,
    )


def summarize(results: list[EpisodeResult]) -> list[CategoryStats]:
    """Per-category stats sorted by category name, with an "all" row last."""
    by_cat: dict[str, list[EpisodeResult]] = defaultdict(list)
    for r in results:
        by_cat[r.category].append(r)
    return [_stats(c, by_cat[c]) for c in sorted(by_cat)] + [_stats(ALL, list(results))]


def chain_stats(done: list[int], lengths: list[int]) -> dict[str, Any]:
    """CALVIN's long-horizon numbers from each chain's count of instructions completed in a row:
    the share of chains with at least k done (k = 1..L) and the average count."""
    if not done:
        return {"chains": 0, "chain_len": 0, "in_a_row": {}, "avg_len": 0.0}
    L = max(lengths)
    return {"chains": len(done), "chain_len": L,
            "in_a_row": {str(k): sum(d >= k for d in done) / len(done) for k in range(1, L + 1)},
            "avg_len": sum(done) / len(done)}
