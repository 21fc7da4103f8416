"""RT-H-style language motions for the mobile Panda: a closed grammar labelled from actions.

A motion says which way each part of the robot moves during one step, e.g.
``"move arm forward and down"`` or ``"move base forward and turn base left"``.

Grammar (every sentence is in ``MOTION_VOCAB``)::

    sentence := "stop" | clause (" and " clause)*        clauses in the order below
    base     := "move base forward|backward", "turn base left|right"   (ordered by size)
    arm      := "move arm " dir (" and " dir)*,  dir per base-frame axis (ordered by size):
                x: forward/backward, y: left/right, z: up/down
    rotate   := one word for the dominant rotation axis of target · current⁻¹ (base frame):
                z: "rotate arm left|right" (yaw, + = left), y: "tilt arm down|up"
                (+ tips a forward-pointing gripper down), x: "roll arm right|left"
    gripper  := "open gripper" | "close gripper"

As in RT-H, a dimension whose magnitude is under its threshold is dropped, and the
rest are ordered by magnitude (base words by magnitude / threshold, since v and ω
have different units). "stop" means nothing moves.

What is measured, for one action ``(10,)`` = ``[v, ω, x, y, z, qw, qx, qy, qz, grip]``
(EE target in the base frame, grip 0 open … 1 closed) applied at ``proprio``:

* base: the commanded ``v`` (m/s) and ``ω`` (rad/s);
* arm: EE target xyz − current EE xyz (m), and the rotation from the current EE
  quaternion to the target one (rad);
* gripper: the command disagrees with the fingers — "close gripper" when the command
  is closed but the fingers are still open (opening above ``gripper_open_width``),
  "open gripper" when the command is open and they are not open yet. So a held
  object does not read as "close gripper" for the whole carry.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from vla_core.actions import ARM_DIM, MOBILE_DIM
from vla_core.frames import quat_conj, quat_mul
from vla_core.observation import Proprio
from vla_core.plans.kinds import LanguageMotion

STOP = "stop"
BASE_WORDS = (("move base forward", "move base backward"), ("turn base left", "turn base right"))  # (+, −) v, ω
ARM_WORDS = (("forward", "backward"), ("left", "right"), ("up", "down"))  # (+, −) per base-frame axis x, y, z
ROTATE_WORDS = (("roll arm right", "roll arm left"), ("tilt arm down", "tilt arm up"),
                ("rotate arm left", "rotate arm right"))  # (+, −) about base-frame x, y, z
GRIPPER_WORDS = ("open gripper", "close gripper")
DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "labels" / "motion.yaml"


@dataclass(frozen=True)
class MotionThresholds:
    """Below these a dimension counts as still (see configs/labels/motion.yaml)."""

    arm_translation: float = 0.005  # m, per axis of target − current EE position
    arm_rotation: float = 0.05  # rad, about the dominant axis of target · current⁻¹
    base_linear: float = 0.02  # m/s, |v|
    base_angular: float = 0.05  # rad/s, |ω|
    gripper_open_width: float = 0.075  # m; fingers wider than this count as open (fully open: 0.08)
    gripper_command: float = 0.5  # a grip command at or above this means "closed"

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"motion threshold {f.name} must be a positive number, got {value!r}")

    @classmethod
    def from_dict(cls, d: dict) -> "MotionThresholds":
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown motion threshold(s) {sorted(unknown)}; known: {[f.name for f in fields(cls)]}")
        return cls(**{k: float(v) for k, v in d.items()})

    @classmethod
    def from_yaml(cls, path: str | Path = DEFAULT_CONFIG) -> "MotionThresholds":
        import yaml

        doc = yaml.safe_load(Path(path).read_text()) or {}
        if not isinstance(doc, dict):
            raise ValueError(f"{path}: expected a mapping of threshold names to numbers")
        return cls.from_dict(doc)

    def to_dict(self) -> dict:
        return asdict(self)


def rotation_delta(current: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(3,) rotation vector (rad) of ``target · current⁻¹``: quaternions wxyz, both in the base frame."""
    c = np.asarray(current, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    c, t = c / np.linalg.norm(c), t / np.linalg.norm(t)
    q = quat_mul(t, quat_conj(c))
    if q[0] < 0:  # the short way round
        q = -q
    s = np.linalg.norm(q[1:])
    if s < 1e-12:
        return np.zeros(3)
    return q[1:] / s * (2.0 * np.arctan2(s, q[0]))


def compose_motion(base: list[str], arm: list[str], rotate: str | None = None, gripper: str | None = None) -> str:
    """The grammar's sentence from its clauses: base words, arm direction words, one rotate word, one gripper
    word (each from the word tables above, in the order given); "stop" when all are empty."""
    clauses = list(base)
    if arm:
        clauses.append("move arm " + " and ".join(arm))
    clauses += [w for w in (rotate, gripper) if w]
    return " and ".join(clauses) if clauses else STOP


def motion_text(action: np.ndarray, proprio: Proprio, thresholds: MotionThresholds | None = None) -> str:
    """The motion sentence for one (10,) mobile action applied at ``proprio`` (see module doc); an
    (8,) arm action is the mobile one with the base still."""
    th = thresholds or MotionThresholds()
    a = np.asarray(action, dtype=np.float64).reshape(-1)
    if a.shape[0] == ARM_DIM:
        a = np.concatenate([np.zeros(2), a])
    if a.shape[0] != MOBILE_DIM or not np.all(np.isfinite(a)):
        raise ValueError(f"label_motion needs a finite ({MOBILE_DIM},) mobile or ({ARM_DIM},) arm action, "
                         f"got shape {a.shape}")

    base = [(abs(x) / thr, words[0] if x > 0 else words[1])
            for x, thr, words in zip(a[:2], (th.base_linear, th.base_angular), BASE_WORDS) if abs(x) > thr]
    base_words = [w for _, w in sorted(base, key=lambda s: -s[0])]  # stable: ties keep v before ω

    delta = a[2:5] - np.asarray(proprio.ee_pos, dtype=np.float64)
    arm = [(abs(d), words[0] if d > 0 else words[1]) for d, words in zip(delta, ARM_WORDS)
           if abs(d) > th.arm_translation]
    arm_words = [w for _, w in sorted(arm, key=lambda s: -s[0])]

    rot = rotation_delta(proprio.ee_quat, a[5:9])
    k = int(np.argmax(np.abs(rot)))
    rotate = (ROTATE_WORDS[k][0] if rot[k] > 0 else ROTATE_WORDS[k][1]) if abs(rot[k]) > th.arm_rotation else None

    closed_cmd = a[9] >= th.gripper_command
    fingers_open = float(proprio.gripper) > th.gripper_open_width
    gripper = GRIPPER_WORDS[1] if closed_cmd and fingers_open else (
        GRIPPER_WORDS[0] if not closed_cmd and not fingers_open else None)
    return compose_motion(base_words, arm_words, rotate, gripper)


def label_motion(action: np.ndarray, proprio: Proprio, thresholds: MotionThresholds | None = None) -> LanguageMotion:
    """RT-H language motion of one (10,) action ``[v, ω, xyz, qwxyz, grip]`` applied at ``proprio``."""
    return LanguageMotion(motion_text(action, proprio, thresholds))


def _vocab() -> tuple[str, ...]:
    base_opts: list[list[str]] = [[]]
    for n in (1, 2):
        for dims in itertools.permutations(range(2), n):
            for signs in itertools.product((0, 1), repeat=n):
                base_opts.append([BASE_WORDS[d][s] for d, s in zip(dims, signs)])
    arm_opts: list[list[str]] = [[]]
    for n in (1, 2, 3):
        for dims in itertools.permutations(range(3), n):
            for signs in itertools.product((0, 1), repeat=n):
                arm_opts.append([ARM_WORDS[d][s] for d, s in zip(dims, signs)])
    rotate_opts = [None] + [w for pair in ROTATE_WORDS for w in pair]
    gripper_opts = [None, *GRIPPER_WORDS]
    out = [STOP]
    for b, m, r, g in itertools.product(base_opts, arm_opts, rotate_opts, gripper_opts):
        if b or m or r or g:
            out.append(compose_motion(b, m, r, g))
    return tuple(out)


MOTION_VOCAB: tuple[str, ...] = _vocab()
"""Every sentence the grammar can produce, in a fixed order (index 0 is "stop")."""


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, int]:
    return {text: i for i, text in enumerate(MOTION_VOCAB)}


@dataclass(frozen=True)
class MotionDirections:
    """A grammar sentence read back as signs (+1, −1, 0 still), the inverse of ``motion_text`` up to sizes.

    base (2,): v, ω · arm (3,): base-frame x y z · rotate (3,): about base-frame x y z (the signs of
    ``rotation_delta``) · gripper: 0.0 open, 1.0 close, None unchanged.
    """

    base: tuple[int, int]
    arm: tuple[int, int, int]
    rotate: tuple[int, int, int]
    gripper: float | None

    @property
    def still(self) -> bool:
        return not any(self.base) and not any(self.arm) and not any(self.rotate) and self.gripper is None


def motion_directions(text: str) -> MotionDirections:
    """Signs of each dimension a sentence of ``MOTION_VOCAB`` moves; ValueError for any other text."""
    motion_index(text)  # only the grammar's own sentences
    base, arm, rotate, gripper = [0, 0], [0, 0, 0], [0, 0, 0], None
    for clause in text.split(" and "):
        for k, words in enumerate(BASE_WORDS):
            if clause in words:
                base[k] = 1 if clause == words[0] else -1
        for k, words in enumerate(ROTATE_WORDS):
            if clause in words:
                rotate[k] = 1 if clause == words[0] else -1
        if clause in GRIPPER_WORDS:
            gripper = 0.0 if clause == GRIPPER_WORDS[0] else 1.0
        word = clause.removeprefix("move arm ")  # "move arm left and up": the later directions are bare clauses
        for k, words in enumerate(ARM_WORDS):
            if word in words:
                arm[k] = 1 if word == words[0] else -1
    return MotionDirections(tuple(base), tuple(arm), tuple(rotate), gripper)


def motion_index(text: str) -> int:
    """Position of a motion sentence in ``MOTION_VOCAB`` (for a classifier); ValueError if not in it."""
    try:
        return _index()[text]
    except KeyError:
        raise ValueError(f"not a motion of the grammar: {text!r}") from None


__all__ = ["MOTION_VOCAB", "MotionDirections", "MotionThresholds", "STOP", "compose_motion", "label_motion",
           "motion_directions", "motion_index", "motion_text", "rotation_delta"]
