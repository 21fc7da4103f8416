"""The policy server's wire messages (msgpack via ``codec``) and the Observation/Plan ⇄ dict mapping.

Client → server (every request has an int ``id`` that its reply echoes):

    {"type": "hello", "id"}                               → the served model: protocol, action_dim, horizon, n_exec …
    {"type": "reset", "id", "seed"?: int, "task"?: str}   → a new episode: the policy's history and noise restart
    {"type": "infer", "id", "obs": OBS, "plan"?: PLAN, "n"?: int}
        → {"actions": (H, D) float32, "samples"?: (n, H, D) when n > 1, "plan": text, "plan_kind",
           "confidence", "abstain_reason", "done", "n_exec"}
           without a plan the server's planner (if it has one) plans from the observation's task

    OBS  = {"proprio": {"joint_pos" (7,), "gripper", "ee_pos" (3,), "ee_quat" (4,) wxyz, "base_pose" (3,)},
            "keypoints" (K, 3), "keypoint_names" [K str], "task", "time",
            "rgb"?: {camera: (H, W, 3) uint8}, "depth"?: {camera: (H, W) float}}
    PLAN = {"kind": "instruction" | "motion", "text", "subtask"?} | {"kind": "path", "waypoints" (N, 4), "frame", "subtask"?}

Every reply carries ``"timing": {"server_ms", …}``; a refused request gets
``{"type": "error", "id", "error": code, "message"}`` with a code from ``ERRORS``, and the
connection stays open. Arrays keep the dtype they were sent with, so a remote call sees exactly
what a local ``ChunkPolicy.sample`` would.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from vla_core.observation import Observation, Proprio
from vla_core.plans import Instruction, LanguageMotion, Path3D, Plan, Subtask
from vla_core.serve.codec import ProtocolError, packb, unpackb

PROTOCOL = 1
REQUESTS = ("hello", "reset", "infer")
PLAN_KINDS = {"instruction": Instruction, "motion": LanguageMotion, "path": Path3D}
# malformed: not a valid message; bad_request: valid, but the policy refuses it (NaN proprio, a camera it
# needs is missing, no plan and no planner); internal: a server bug (logged there). Before the models are
# loaded the server refuses the websocket handshake itself (HTTP 503), so no reply says "not ready".
ERRORS = ("malformed", "bad_request", "internal")
MAX_SAMPLES = 64  # chunks per infer call: bounds the work one message can ask for


@dataclass(frozen=True)
class Request:
    type: str  # one of REQUESTS
    id: int
    obs: Observation | None = None  # infer
    plan: Plan | None = None  # infer; None: the server's planner decides
    n: int = 1  # infer: candidate chunks
    seed: int | None = None  # reset
    task: str | None = None  # reset


def _get(d: Mapping, key: str, types, where: str, optional: bool = False):
    types = types if isinstance(types, tuple) else (types,)
    v = d.get(key)
    if v is None:
        if optional:
            return None
        raise ProtocolError(f"{where}: missing {key!r}")
    # bool is an int to Python, but no field here means a number by true/false
    if not isinstance(v, types) or (isinstance(v, bool) and bool not in types):
        names = "/".join(t.__name__ for t in types)
        raise ProtocolError(f"{where}.{key} must be {names}, got {type(v).__name__}")
    return v


def _map(v, where: str) -> Mapping:
    if not isinstance(v, Mapping):
        raise ProtocolError(f"{where} must be a map, got {type(v).__name__}")
    return v


def _array(d: Mapping, key: str, shape: tuple[int | None, ...], where: str, kind: str = "fiu") -> np.ndarray:
    """An array field with ``shape`` (None = any length) and a dtype kind from ``kind``."""
    a = _get(d, key, np.ndarray, where)
    if a.ndim != len(shape) or any(s is not None and s != n for s, n in zip(shape, a.shape)):
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise ProtocolError(f"{where}.{key} must have shape {want}, got {a.shape}")
    if a.dtype.kind not in kind:
        raise ProtocolError(f"{where}.{key} has dtype {a.dtype}; expected kind {kind!r}")
    return a


def _number(d: Mapping, key: str, where: str) -> float:
    return float(_get(d, key, (int, float), where))


# ---- Observation ----------------------------------------------------------------------------------

def observation_to_wire(obs: Observation) -> dict:
    p = obs.proprio
    return {"proprio": {"joint_pos": np.asarray(p.joint_pos), "gripper": float(p.gripper),
                        "ee_pos": np.asarray(p.ee_pos), "ee_quat": np.asarray(p.ee_quat),
                        "base_pose": np.asarray(p.base_pose)},
            "keypoints": np.asarray(obs.keypoints), "keypoint_names": list(obs.keypoint_names),
            "task": obs.task, "time": float(obs.time),
            "rgb": {str(k): np.asarray(v) for k, v in obs.rgb.items()},
            "depth": {str(k): np.asarray(v) for k, v in obs.depth.items()}}


def observation_from_wire(d) -> Observation:
    d = _map(d, "obs")
    p = _map(_get(d, "proprio", Mapping, "obs"), "obs.proprio")
    w = "obs.proprio"
    proprio = Proprio(joint_pos=_array(p, "joint_pos", (7,), w), gripper=_number(p, "gripper", w),
                      ee_pos=_array(p, "ee_pos", (3,), w), ee_quat=_array(p, "ee_quat", (4,), w),
                      base_pose=_array(p, "base_pose", (3,), w))
    names = _get(d, "keypoint_names", list, "obs")
    if not all(isinstance(n, str) for n in names):
        raise ProtocolError("obs.keypoint_names must be a list of str")
    keypoints = _array(d, "keypoints", (len(names), 3), "obs", kind="f")
    rgb = _images(d, "rgb", (None, None, 3), "fiu")
    depth = _images(d, "depth", (None, None), "f")
    return Observation(proprio, keypoints, tuple(names), _get(d, "task", str, "obs"), _number(d, "time", "obs"),
                       rgb=rgb, depth=depth)


def _images(d: Mapping, key: str, shape: tuple[int | None, ...], kind: str) -> dict[str, np.ndarray]:
    cams = _get(d, key, Mapping, "obs", optional=True) or {}
    out = {}
    for cam in cams:
        if not isinstance(cam, str):
            raise ProtocolError(f"obs.{key} camera names must be str")
        img = _array(cams, cam, shape, f"obs.{key}", kind)
        if key == "rgb" and img.dtype != np.uint8:
            raise ProtocolError(f"obs.rgb.{cam} must be uint8, got {img.dtype}")
        out[cam] = img
    return out


# ---- Plan -----------------------------------------------------------------------------------------

def plan_kind(plan: Plan) -> str:
    return next(k for k, cls in PLAN_KINDS.items() if isinstance(plan, cls))


def plan_to_wire(plan: Plan) -> dict:
    d: dict = {"kind": plan_kind(plan)}
    if isinstance(plan, Path3D):
        d.update(waypoints=np.asarray(plan.waypoints), frame=plan.frame)
    else:
        d["text"] = plan.text
    if plan.subtask is not None:
        d["subtask"] = {"kind": plan.subtask.kind, "target": plan.subtask.target, "dest": plan.subtask.dest}
    return d


def plan_from_wire(d) -> Plan:
    d = _map(d, "plan")
    kind = _get(d, "kind", str, "plan")
    if kind not in PLAN_KINDS:
        raise ProtocolError(f"plan.kind must be one of {tuple(PLAN_KINDS)}, got {kind!r}")
    sub = _get(d, "subtask", Mapping, "plan", optional=True)
    try:  # the plan types validate themselves (finite (N, 4) waypoints, known subtask kinds)
        subtask = None if sub is None else Subtask(_get(sub, "kind", str, "plan.subtask"),
                                                   _get(sub, "target", str, "plan.subtask"),
                                                   _get(sub, "dest", str, "plan.subtask", optional=True))
        if kind == "path":
            return Path3D(_array(d, "waypoints", (None, 4), "plan", kind="fi"),
                          _get(d, "frame", str, "plan", optional=True) or "base", subtask)
        return PLAN_KINDS[kind](_get(d, "text", str, "plan"), subtask)
    except ProtocolError:
        raise
    except ValueError as e:
        raise ProtocolError(f"plan: {e}") from None


# ---- Messages -------------------------------------------------------------------------------------

def encode_request(req: Request) -> bytes:
    msg: dict = {"type": req.type, "id": req.id}
    if req.type == "infer":
        msg["obs"] = observation_to_wire(req.obs)
        msg["n"] = req.n
        if req.plan is not None:
            msg["plan"] = plan_to_wire(req.plan)
    elif req.type == "reset":
        msg.update(seed=req.seed, task=req.task)
    return packb(msg)


def decode_request(data: bytes) -> Request:
    """Bytes → a validated Request; ``ProtocolError`` (one line) for anything malformed."""
    msg = _map(unpackb(data), "message")
    kind = _get(msg, "type", str, "message")
    if kind not in REQUESTS:
        raise ProtocolError(f"message.type must be one of {REQUESTS}, got {kind!r}")
    rid = _get(msg, "id", int, "message")
    if kind == "hello":
        return Request(kind, rid)
    if kind == "reset":
        seed = _get(msg, "seed", int, "message", optional=True)
        if seed is not None and not 0 <= seed < 2**63:  # what a torch generator takes
            raise ProtocolError(f"message.seed must be in [0, 2**63), got {seed}")
        return Request(kind, rid, seed=seed, task=_get(msg, "task", str, "message", optional=True))
    n = _get(msg, "n", int, "message", optional=True)
    n = 1 if n is None else n
    if not 1 <= n <= MAX_SAMPLES:
        raise ProtocolError(f"message.n must be in [1, {MAX_SAMPLES}], got {n}")
    plan = msg.get("plan")
    return Request(kind, rid, obs=observation_from_wire(_get(msg, "obs", Mapping, "message")),
                   plan=None if plan is None else plan_from_wire(plan), n=n)


def request_id(data) -> int | None:
    """The ``id`` of a message that failed validation, if one can be read (so its error reply can echo it)."""
    try:
        msg = unpackb(data)
        rid = msg.get("id") if isinstance(msg, Mapping) else None
        return rid if isinstance(rid, int) and not isinstance(rid, bool) else None
    except ProtocolError:
        return None


def error_reply(rid: int | None, code: str, message: str) -> dict:
    assert code in ERRORS, code
    return {"type": "error", "id": rid, "error": code, "message": message}


def encode_reply(reply: dict) -> bytes:
    return packb(reply)


def decode_reply(data) -> dict:
    """Bytes → the reply dict; ``ProtocolError`` when it is not a map with a type and timing."""
    msg = _map(unpackb(data), "reply")
    _get(msg, "type", str, "reply")
    _get(msg, "timing", Mapping, "reply")
    return dict(msg)
