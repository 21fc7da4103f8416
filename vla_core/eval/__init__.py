"""Evaluation reporting: per-episode results, success statistics, reports, videos."""

from vla_core.eval.results import EpisodeResult
from vla_core.eval.stats import CategoryStats, summarize, wilson_interval

__all__ = ["CategoryStats", "EpisodeResult", "summarize", "wilson_interval"]
