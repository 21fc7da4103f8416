"""Reward programs: a declarative spec (JSON or YAML) of weighted differentiable primitives.

    {"name": "around the jar to the red mug",
     "stages": [
       {"name": "reach", "until": {"gripper": "closed"},
        "terms": [{"type": "reach", "target": {"keypoint": "red_mug", "offset": [0, 0, 0.02]}},
                  {"type": "keep_out_sphere", "center": [0.62, 0.05, 1.0], "radius": 0.06, "weight": 5}]},
       {"name": "lift", "terms": [{"type": "progress", "axis": [0, 0, 1]}, {"type": "smoothness"}]}]}

``"terms": [...]`` at the top level is shorthand for one stage. Points are literal base-frame
``[x, y, z]`` or ``{"keypoint": name, "offset": [dx, dy, dz]}`` resolved against the
observation's keypoints when the program is evaluated. Every field is checked against the
schema below (unknown fields, wrong types, out-of-range values are a ``ProgramError`` naming
the field); a spec is data: nothing in it is ever executed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vla_core.steering import primitives as P

NUM, POS, NONNEG, VEC3, POINT, PATH, BOOL = "number", "positive", "non-negative", "vec3", "point", "path", "bool"
# type → {field: (kind, default or REQUIRED)}
REQUIRED = object()
SCHEMA: dict[str, dict[str, tuple[str, Any]]] = {
    "reach": {"target": (POINT, REQUIRED), "power": (NONNEG, 2.0)},
    "approach": {"target": (POINT, REQUIRED), "axis": (VEC3, REQUIRED), "standoff": (NONNEG, 0.1), "power": (NONNEG, 2.0)},
    "keep_out_sphere": {"center": (POINT, REQUIRED), "radius": (POS, REQUIRED), "margin": (NONNEG, 0.02)},
    "keep_out_box": {"low": (VEC3, REQUIRED), "high": (VEC3, REQUIRED), "margin": (NONNEG, 0.02)},
    "half_space": {"normal": (VEC3, REQUIRED), "offset": (NUM, REQUIRED), "margin": (NONNEG, 0.0)},
    "above_surface": {"height": (NUM, REQUIRED), "margin": (NONNEG, 0.02)},
    "progress": {"axis": (VEC3, REQUIRED), "backtrack_weight": (NONNEG, 1.0)},
    "follow_path": {"path": (PATH, REQUIRED)},
    "smoothness": {},
    "gripper": {"closed": (BOOL, REQUIRED), "power": (NONNEG, 2.0)},
}
MAX_TERMS, MAX_STAGES, MAX_PATH = 32, 8, 64


class ProgramError(ValueError):
    """The spec is not a valid reward program; ``str(e)`` names the field and the reason."""


@dataclass(frozen=True)
class Term:
    type: str
    weight: float
    args: dict[str, Any]


@dataclass(frozen=True)
class Stage:
    name: str
    terms: tuple[Term, ...]
    until: dict[str, Any] | None = None  # {"gripper": "closed"|"open"} or {"progress": x in (0, 1]}


@dataclass(frozen=True)
class RewardProgram:
    name: str
    stages: tuple[Stage, ...]
    keypoints: tuple[str, ...] = field(default=())  # every keypoint the program names

    def reward(self, traj: torch.Tensor, keypoints: dict[str, torch.Tensor], grip: torch.Tensor | None = None,
               stage: int = 0) -> torch.Tensor:
        """traj (B, T, 3) base-frame EE positions, keypoints name → (3,) base frame, grip (B, T)
        → (B,) the weighted sum of stage ``stage``'s terms."""
        return sum(self.terms(traj, keypoints, grip, stage).values())

    def terms(self, traj: torch.Tensor, keypoints: dict[str, torch.Tensor], grip: torch.Tensor | None = None,
              stage: int = 0) -> dict[str, torch.Tensor]:
        """Each weighted term's (B,) reward, keyed '<i>:<type>' (for logs and ablations)."""
        missing = [k for k in self.keypoints if k not in keypoints]
        if missing:
            raise ProgramError(f"program {self.name!r} needs keypoints the observation lacks: {missing}")
        out = {}
        for i, term in enumerate(self.stages[stage].terms):
            out[f"{i}:{term.type}"] = term.weight * _evaluate(term, traj, keypoints, grip)
        return out


def _point(spec, keypoints: dict[str, torch.Tensor], like: torch.Tensor) -> torch.Tensor:
    if isinstance(spec, dict):
        return keypoints[spec["keypoint"]].to(like) + like.new_tensor(spec.get("offset", (0.0, 0.0, 0.0)))
    return like.new_tensor(spec)


def _evaluate(term: Term, traj: torch.Tensor, keypoints: dict[str, torch.Tensor], grip) -> torch.Tensor:
    a, t = term.args, term.type
    v = lambda x: traj.new_tensor(x)  # noqa: E731
    if t == "reach":
        return P.reach(traj, _point(a["target"], keypoints, traj), a["power"])
    if t == "approach":
        return P.approach(traj, _point(a["target"], keypoints, traj), v(a["axis"]), a["standoff"], a["power"])
    if t == "keep_out_sphere":
        return P.keep_out_sphere(traj, _point(a["center"], keypoints, traj), a["radius"], a["margin"])
    if t == "keep_out_box":
        return P.keep_out_box(traj, v(a["low"]), v(a["high"]), a["margin"])
    if t == "half_space":
        return P.half_space(traj, v(a["normal"]), a["offset"], a["margin"])
    if t == "above_surface":
        return P.above_surface(traj, a["height"], a["margin"])
    if t == "progress":
        return P.progress(traj, v(a["axis"]), a["backtrack_weight"])
    if t == "follow_path":
        return P.follow_path(traj, v(a["path"]))
    if t == "smoothness":
        return P.smoothness(traj)
    if grip is None:
        raise ProgramError("a 'gripper' term needs the chunk's gripper commands")
    return P.gripper(grip, a["closed"], a["power"])


# ---- parsing -------------------------------------------------------------------------------
def _fail(where: str, why: str):
    raise ProgramError(f"{where}: {why}")


def _number(x, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        _fail(where, f"expected a finite number, got {json.dumps(x)[:40]}")
    return float(x)


def _vec3(x, where: str) -> list[float]:
    if not isinstance(x, list) or len(x) != 3:
        _fail(where, f"expected [x, y, z], got {json.dumps(x)[:60]}")
    return [_number(c, f"{where}[{i}]") for i, c in enumerate(x)]


def _value(kind: str, x, where: str, names: set[str]):
    if kind == NUM:
        return _number(x, where)
    if kind in (POS, NONNEG):
        n = _number(x, where)
        if n < 0 or (kind == POS and n == 0):
            _fail(where, f"must be {kind}, got {n}")
        return n
    if kind == BOOL:
        if not isinstance(x, bool):
            _fail(where, f"expected true or false, got {json.dumps(x)[:40]}")
        return x
    if kind == VEC3:
        return _vec3(x, where)
    if kind == PATH:
        if not isinstance(x, list) or not 1 <= len(x) <= MAX_PATH:
            _fail(where, f"expected a list of 1…{MAX_PATH} [x, y, z] points")
        return [_vec3(p, f"{where}[{i}]") for i, p in enumerate(x)]
    # POINT: literal or keypoint reference
    if isinstance(x, dict):
        extra = set(x) - {"keypoint", "offset"}
        if extra:
            _fail(where, f"unknown fields {sorted(extra)} (a keypoint point has 'keypoint' and 'offset')")
        if not isinstance(x.get("keypoint"), str) or not x["keypoint"]:
            _fail(f"{where}.keypoint", "expected a keypoint name")
        names.add(x["keypoint"])
        return {"keypoint": x["keypoint"], "offset": _vec3(x.get("offset", [0, 0, 0]), f"{where}.offset")}
    return _vec3(x, where)


def _term(spec, where: str, names: set[str]) -> Term:
    if not isinstance(spec, dict):
        _fail(where, "expected an object with a 'type'")
    kind = spec.get("type")
    if kind not in SCHEMA:
        _fail(f"{where}.type", f"unknown term type {json.dumps(kind)[:40]}; choose from {', '.join(SCHEMA)}")
    fields_ = SCHEMA[kind]
    extra = set(spec) - set(fields_) - {"type", "weight"}
    if extra:
        _fail(where, f"unknown fields {sorted(extra)} for a {kind!r} term (it takes {sorted(fields_) + ['weight']})")
    args = {}
    for name, (k, default) in fields_.items():
        if name not in spec:
            if default is REQUIRED:
                _fail(f"{where}.{name}", f"required by a {kind!r} term")
            args[name] = default
        else:
            args[name] = _value(k, spec[name], f"{where}.{name}", names)
    if kind == "keep_out_box" and any(lo >= hi for lo, hi in zip(args["low"], args["high"])):
        _fail(f"{where}.low", "must be below high on every axis")
    weight = _value(NONNEG, spec.get("weight", 1.0), f"{where}.weight", names)
    return Term(kind, weight, args)


def _until(spec, where: str) -> dict | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or len(spec) != 1:
        _fail(where, "expected {\"gripper\": \"closed\"|\"open\"} or {\"progress\": x}")
    (k, x), = spec.items()
    if k == "gripper" and x in ("closed", "open"):
        return {k: x}
    if k == "progress":
        p = _number(x, f"{where}.progress")
        if not 0 < p <= 1:
            _fail(f"{where}.progress", f"must be in (0, 1], got {p}")
        return {k: p}
    _fail(where, "expected {\"gripper\": \"closed\"|\"open\"} or {\"progress\": x}")


def parse_program(spec: dict) -> RewardProgram:
    """A decoded spec (dict) → RewardProgram, or ProgramError naming what is wrong."""
    if not isinstance(spec, dict):
        _fail("program", "expected an object")
    extra = set(spec) - {"name", "stages", "terms"}
    if extra:
        _fail("program", f"unknown fields {sorted(extra)} (it takes name, stages or terms)")
    if ("stages" in spec) == ("terms" in spec):
        _fail("program", "give either 'stages' or 'terms' (one stage)")
    name = spec.get("name", "")
    if not isinstance(name, str):
        _fail("program.name", "expected a string")
    raw = spec["stages"] if "stages" in spec else [{"name": name, "terms": spec["terms"]}]
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_STAGES:
        _fail("program.stages", f"expected a list of 1…{MAX_STAGES} stages")
    names: set[str] = set()
    stages = []
    for i, st in enumerate(raw):
        where = f"stages[{i}]" if "stages" in spec else "program"
        if not isinstance(st, dict):
            _fail(where, "expected an object with 'terms'")
        extra = set(st) - {"name", "terms", "until"}
        if extra:
            _fail(where, f"unknown fields {sorted(extra)} (a stage takes name, terms, until)")
        terms = st.get("terms")
        if not isinstance(terms, list) or not 1 <= len(terms) <= MAX_TERMS:
            _fail(f"{where}.terms", f"expected a list of 1…{MAX_TERMS} terms")
        stages.append(Stage(str(st.get("name", f"stage {i}")),
                            tuple(_term(t, f"{where}.terms[{j}]", names) for j, t in enumerate(terms)),
                            _until(st.get("until"), f"{where}.until")))
    return RewardProgram(name, tuple(stages), tuple(sorted(names)))


def load_program(path: str | Path) -> RewardProgram:
    """A .json or .yaml/.yml file → RewardProgram (yaml.safe_load: plain data only)."""
    path = Path(path)
    text = path.read_text()
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            spec = yaml.safe_load(text)
        else:
            spec = json.loads(text, parse_constant=lambda c: _fail(str(path), f"{c} is not a number"))
    except ProgramError:
        raise
    except Exception as e:  # json and yaml syntax errors
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ProgramError(f"{path}: not valid {path.suffix.lstrip('.') or 'json'}: {first}") from None
    return parse_program(spec)
