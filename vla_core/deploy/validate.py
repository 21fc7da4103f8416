"""Checks for deploy config values: every error names the field it is about.

A robot's safety numbers come from a hand-edited YAML; a typo must stop the bridge at start-up
with a message that says which field is wrong, never turn into a silently permissive default.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import fields


def reject_unknown(section: str, data: Mapping, allowed: Iterable[str]) -> None:
    """A misspelt key would otherwise fall back to its default without a word."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{section} must be a mapping, got {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in set(allowed))
    if unknown:
        raise ValueError(f"{section}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def number(name: str, value, *, positive: bool = False, lo: float | None = None, hi: float | None = None) -> float:
    """A finite real number (bools and strings rejected: YAML's `yes` or `"0.1"` are typos here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be > 0, got {v}")
    if lo is not None and v < lo:
        raise ValueError(f"{name} must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise ValueError(f"{name} must be <= {hi}, got {v}")
    return v


def vector(name: str, value, n: int) -> tuple[float, ...]:
    """A list of ``n`` finite numbers."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValueError(f"{name} must be a list of {n} numbers, got {type(value).__name__} {value!r}")
    items = list(value)
    if len(items) != n:
        raise ValueError(f"{name} must have {n} values, got {len(items)}")
    return tuple(number(f"{name}[{i}]", v) for i, v in enumerate(items))


def ordered(lo_name: str, lo: tuple[float, ...], hi_name: str, hi: tuple[float, ...]) -> None:
    """Every lower bound strictly below its upper bound (an empty box would hold the robot forever)."""
    for i, (a, b) in enumerate(zip(lo, hi)):
        if not a < b:
            raise ValueError(f"{lo_name}[{i}] = {a} must be < {hi_name}[{i}] = {b}")


def text(name: str, value, choices: Iterable[str] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    if choices is not None and value not in set(choices):
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def section(name: str, cls, data: Mapping, **defaults):
    """The dataclass ``cls`` built from config section ``data`` (keys over ``defaults``): unknown keys
    rejected, and the section named in any error ("safety.max_step_m must be > 0")."""
    reject_unknown(name, data, [f.name for f in fields(cls)])
    try:
        return cls(**{**defaults, **dict(data)})
    except ValueError as e:
        raise ValueError(f"{name}.{e}") from None
