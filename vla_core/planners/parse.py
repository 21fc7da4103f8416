"""Model text → Plan, strictly: what a VLM (or any text-emitting planner) says is data, never code.

The planner asks for one JSON object per reply:

    {"motion": "move arm forward and down", "confidence": 0.8}
    {"instruction": "grasp the red mug by its handle"}
    {"path": [[0.55, 0.0, 1.2, 0.0], [0.6, 0.1, 1.0, 1.0]]}

``parse_plan`` takes the first JSON object in the reply (code fences and prose around it are
tolerated), checks it against the plan kind's schema and grammar, and returns a ``Parsed``
(plan + the model's own confidence, if it gave one) or raises ``PlanParseError`` with a
one-line reason the planner can log, retry on and abstain with. Only ``json.loads`` runs on
model text (NaN/Infinity refused), inside size caps.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from vla_core.plans import Instruction, LanguageMotion, Path3D, Plan
from vla_core.plans.motion import MOTION_VOCAB

KINDS = ("motion", "instruction", "path")
MAX_REPLY_CHARS = 8000  # a reply longer than this is not a plan
MAX_INSTRUCTION_WORDS = 30
MAX_WAYPOINTS = 32
# base-frame box a waypoint must lie in (m): the arm's reach with margin, not the world
PATH_BOUNDS = ((-1.5, 1.5), (-1.5, 1.5), (0.0, 2.5))
_INSTRUCTION_CHARS = re.compile(r"^[A-Za-z0-9 ,.'()%°\-]+$")


class PlanParseError(ValueError):
    """The reply holds no valid plan of the asked kind; ``str(e)`` says why in one line."""


@dataclass(frozen=True)
class Parsed:
    plan: Plan
    confidence: float | None  # what the model claimed, if anything; calibrated elsewhere


def _reject_constant(name: str):
    raise PlanParseError(f"non-finite number {name} in the reply")


def first_json_object(text: str) -> dict:
    """The first ``{...}`` in ``text`` that parses as a JSON object."""
    if not isinstance(text, str) or not text.strip():
        raise PlanParseError("empty reply")
    if len(text) > MAX_REPLY_CHARS:
        raise PlanParseError(f"reply of {len(text)} characters is over the {MAX_REPLY_CHARS} cap")
    decoder = json.JSONDecoder(parse_constant=_reject_constant)
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = decoder.raw_decode(text, m.start())
        except json.JSONDecodeError:
            continue
        except RecursionError:
            raise PlanParseError("reply nests JSON too deeply") from None
        if isinstance(obj, dict):
            return obj
    raise PlanParseError("no JSON object in the reply")


def _confidence(obj: dict) -> float | None:
    c = obj.get("confidence")
    if c is None:
        return None
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0.0 <= float(c) <= 1.0:
        raise PlanParseError(f"confidence must be a number in [0, 1], got {c!r}")
    return float(c)


def _motion(value) -> LanguageMotion:
    if not isinstance(value, str):
        raise PlanParseError(f"motion must be a string, got {type(value).__name__}")
    text = " ".join(value.lower().strip().rstrip(".").split())
    if text not in _VOCAB:
        raise PlanParseError(f"motion {value[:80]!r} is not in the motion grammar")
    return LanguageMotion(text)


def _instruction(value) -> Instruction:
    if not isinstance(value, str):
        raise PlanParseError(f"instruction must be a string, got {type(value).__name__}")
    text = " ".join(value.strip().split())
    if not text:
        raise PlanParseError("instruction is empty")
    if len(text.split()) > MAX_INSTRUCTION_WORDS:
        raise PlanParseError(f"instruction has over {MAX_INSTRUCTION_WORDS} words")
    # one plain sentence about the robot's next move: no markup, code, URLs or line breaks
    if not _INSTRUCTION_CHARS.match(text) or text.count(".") > 1:
        raise PlanParseError(f"instruction {text[:80]!r} is not one plain sentence")
    return Instruction(text)


def _path(value) -> Path3D:
    if not isinstance(value, list) or not value:
        raise PlanParseError("path must be a non-empty list of [x, y, z, gripper] waypoints")
    if len(value) > MAX_WAYPOINTS:
        raise PlanParseError(f"path has {len(value)} waypoints, over the {MAX_WAYPOINTS} cap")
    rows = []
    for i, p in enumerate(value):
        if not isinstance(p, list) or len(p) != 4 or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in p):
            raise PlanParseError(f"waypoint {i} must be 4 finite numbers [x, y, z, gripper], got {str(p)[:60]}")
        for axis, v, (lo, hi) in zip("xyz", p, PATH_BOUNDS):
            if not lo <= v <= hi:
                raise PlanParseError(f"waypoint {i} {axis}={v} is outside the reachable box [{lo}, {hi}] m")
        if not 0.0 <= p[3] <= 1.0:
            raise PlanParseError(f"waypoint {i} gripper={p[3]} is outside [0, 1]")
        rows.append([float(v) for v in p])
    return Path3D(rows)


_VOCAB = frozenset(MOTION_VOCAB)
_BUILD = {"motion": _motion, "instruction": _instruction, "path": _path}


def parse_plan(text: str, kind: str) -> Parsed:
    """A model's reply → the plan of ``kind`` (motion | instruction | path) it holds."""
    if kind not in KINDS:
        raise ValueError(f"plan kind must be one of {KINDS}, got {kind!r}")
    obj = first_json_object(text)
    if kind not in obj:
        raise PlanParseError(f"reply has no {kind!r} key (keys: {sorted(obj)[:5]})")
    extra = set(obj) - {kind, "confidence"}
    if extra:
        raise PlanParseError(f"reply has keys besides {kind!r} and 'confidence': {sorted(extra)[:5]}")
    return Parsed(_BUILD[kind](obj[kind]), _confidence(obj))
