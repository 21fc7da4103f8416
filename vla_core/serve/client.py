"""Robot-side client of the policy server: ``infer(obs, plan) -> dict``, and ``RemotePolicy``, the
Policy contract over it, so the runtime loop (sim, the ROS agent node) uses a remote server unchanged.

An unavailable server never raises and never blocks the control loop for long: a refused
connection, a reply later than ``timeout_s``, a server killed mid-call, or a reply that is not a
finite (H, D) chunk all give a HOLD chunk (``hold_chunk``: stay at the measured pose) flagged
``held``, and the client reconnects with exponential backoff (jittered, so fifty robots do not
retry in lockstep); until the next retry is due, calls hold at once without touching the network.
Only requests the server refuses as wrong (``malformed``, ``bad_request``: a caller's bug that a
retry cannot fix) raise ``RemoteError``. Torch-free: a robot PC needs numpy, msgpack and websockets.
Not thread-safe: one client per control thread.
"""

from __future__ import annotations

import http.client
import itertools
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from vla_core.actions import ARM_DIM, MOBILE_DIM
from vla_core.deploy.gripper import HAND_MAX_WIDTH
from vla_core.observation import Observation
from vla_core.plans import Plan
from vla_core.serve.codec import ProtocolError
from vla_core.serve.protocol import PROTOCOL, Request, decode_reply, encode_request

MESSAGE_TOO_BIG = 1009  # websocket close code: the server's max_size refused our frame


class RemoteError(ValueError):
    """The server refused a request as wrong (malformed / bad_request); retrying the same one cannot help."""


@dataclass(frozen=True)
class ClientConfig:
    timeout_s: float = 2.0  # a reply later than this is a failure: hold, drop the connection, reconnect
    connect_timeout_s: float = 1.0  # TCP + websocket handshake
    backoff_s: float = 0.1  # the first retry's delay; doubles per consecutive failure …
    max_backoff_s: float = 2.0  # … up to this (so a returning server is found within ~2 s)
    max_size: int = 64 * 2**20  # largest reply accepted, bytes
    horizon: int = 16  # the hold chunk's length until the server has said its own (hello)
    action_dim: int = MOBILE_DIM  # likewise its width: 10 mobile, 8 arm-only
    n_exec: int | None = None  # actions the loop executes per chunk (None: the server's); see hold_chunk

    def __post_init__(self) -> None:
        for name in ("timeout_s", "connect_timeout_s", "backoff_s", "max_backoff_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        if self.action_dim not in (MOBILE_DIM, ARM_DIM):
            raise ValueError(f"action_dim must be {MOBILE_DIM} or {ARM_DIM}, got {self.action_dim}")
        if self.horizon < 1 or (self.n_exec is not None and self.n_exec < 1):
            raise ValueError("horizon and n_exec must be >= 1")


def gripper_from_width(width: float) -> float:
    """Measured finger opening (m, 0 … 0.08) → the action's gripper value (0 open … 1 closed) that keeps it."""
    w = float(width) if np.isfinite(width) else HAND_MAX_WIDTH
    return float(np.clip(1.0 - w / HAND_MAX_WIDTH, 0.0, 1.0))


def hold_chunk(obs: Observation, horizon: int, action_dim: int, gripper: float | None = None) -> np.ndarray:
    """(horizon, action_dim) float32 that keeps the robot still: base v = ω = 0, EE target = the measured
    EE pose (absolute targets in the base frame, so repeating it holds), gripper = ``gripper`` (the last
    command, so a held object stays gripped) or, with none yet, the value that keeps the measured opening."""
    p = obs.proprio
    g = gripper_from_width(p.gripper) if gripper is None else float(gripper)
    arm = np.concatenate([np.asarray(p.ee_pos, np.float64), np.asarray(p.ee_quat, np.float64), [g]])
    action = np.concatenate([np.zeros(action_dim - ARM_DIM), arm]).astype(np.float32)
    return np.repeat(action[None], horizon, axis=0)


def health(host: str, port: int, timeout_s: float = 1.0) -> tuple[int, str]:
    """``GET /healthz`` → (HTTP status, body); OSError when nothing answers."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request("GET", "/healthz")
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


class PolicyClient:
    """``infer(obs, plan) -> dict``: the server's reply plus ``held`` (and ``reason`` when held) and
    ``timing.client_ms``; ``actions`` is always a finite (H, D) chunk to execute."""

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, config: ClientConfig | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.url = f"ws://{host}:{port}"
        self.config = config or ClientConfig()
        self._clock = clock
        self._ids = itertools.count(1)
        self._rng = random.Random()
        self._conn: ClientConnection | None = None
        self.info: dict | None = None  # the server's hello: horizon, action_dim, n_exec, …
        self.failures = 0  # consecutive; sets the backoff
        self.retry_at = 0.0  # clock time before which no reconnect is tried
        self.connects = 0  # successful (re)connections, for monitoring
        self._episode: tuple[int | None, str | None] | None = None  # the reset to replay on a new session
        self._gripper: float | None = None  # the last good chunk's executed gripper command
        self._reason = "not connected yet"  # why the last attempt failed

    # ---- public ----------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._conn is not None

    @property
    def horizon(self) -> int:
        return int(self.info["horizon"]) if self.info else self.config.horizon

    @property
    def action_dim(self) -> int:
        return int(self.info["action_dim"]) if self.info else self.config.action_dim

    @property
    def n_exec(self) -> int:
        """Actions the loop executes per chunk: the config's, else the server's (hello), else the horizon."""
        return min(int(self.config.n_exec or (self.info or {}).get("n_exec") or self.horizon), self.horizon)

    def connect(self) -> str | None:
        """Connect now (a retry not yet due is not tried); None when connected, else why not."""
        return self._connect_if_due()

    def infer(self, obs: Observation, plan: Plan | None = None, n: int = 1) -> dict:
        """One chunk for ``obs`` (``plan`` None: the server's planner plans). Never raises for an
        unavailable server; ``RemoteError`` when the server refuses the request itself."""
        start = self._clock()
        reply, reason = None, self._connect_if_due()
        if reason is None:
            try:
                reply = self._call(Request("infer", next(self._ids), obs=obs, plan=plan, n=n))
                reason = self._check_infer(reply, n)
                if reason:
                    self._drop(reason)
            except _Unavailable as e:
                reason = str(e)
        client_ms = 1e3 * (self._clock() - start)
        if reason is None:
            self.failures = 0
            timing = {**reply["timing"], "client_ms": client_ms}
            if reply.get("done") is True:  # the server's planner says the task is done: stay still, the caller decides
                return {**reply, "actions": hold_chunk(obs, self.horizon, self.action_dim, self._gripper),
                        "held": False, "timing": timing}
            self._gripper = float(reply["actions"][self._exec_index(), -1])
            return {**reply, "held": False, "timing": timing}
        hold = hold_chunk(obs, self.horizon, self.action_dim, self._gripper)
        out = {"type": "infer", "held": True, "reason": reason, "actions": hold, "done": False, "plan": None,
               "plan_kind": None, "confidence": None, "abstain_reason": None, "timing": {"client_ms": client_ms}}
        if n > 1:
            out["samples"] = np.repeat(hold[None], n, axis=0)
        return out

    def reset(self, seed: int | None = None, task: str | None = None) -> bool:
        """Start an episode (server-side history and noise); remembered and replayed after a reconnect.
        False when the server is unavailable now (the reset still happens on the next connection)."""
        self._episode = (seed, task)
        self._gripper = None
        if self._conn is None:
            return False
        try:
            self._call(Request("reset", next(self._ids), seed=seed, task=task))
            return True
        except _Unavailable:
            return False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> PolicyClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- connection ------------------------------------------------------------------------------

    def _connect_if_due(self) -> str | None:
        """None when connected (now or already); else why not, and when the next try is due."""
        if self._conn is not None:
            return None
        now = self._clock()
        if now < self.retry_at:
            return f"{self._reason} (next retry in {self.retry_at - now:.2f} s)"
        try:
            self._conn = connect(self.url, open_timeout=self.config.connect_timeout_s, close_timeout=0.2,
                                 max_size=self.config.max_size, compression=None, proxy=None,
                                 legacy=True)  # a plain connection: the reconnecting is ours, and never blocks
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as e:
            self._fail(f"cannot connect to {self.url}: {_describe(e)}")
            return self._reason
        try:
            info = self._call(Request("hello", next(self._ids)))
            if info.get("protocol") != PROTOCOL:
                return str(self._drop(f"server speaks protocol {info.get('protocol')!r}, this client {PROTOCOL}"))
            self.info = info
            if self._episode is not None:  # a new connection is a new session: replay the episode's reset
                self._call(Request("reset", next(self._ids), seed=self._episode[0], task=self._episode[1]))
        except _Unavailable as e:
            return str(e)
        self.connects += 1
        return None

    def _call(self, req: Request) -> dict:
        """Send ``req``, wait for its reply; ``_Unavailable`` (connection dropped) for any transport failure."""
        conn = self._conn
        try:
            conn.send(encode_request(req))
            reply = decode_reply(conn.recv(timeout=self.config.timeout_s))
        except TimeoutError:
            raise self._drop(f"no reply within {self.config.timeout_s:g} s") from None
        except ConnectionClosed as e:
            if e.rcvd is not None and e.rcvd.code == MESSAGE_TOO_BIG:
                self._drop("message too big")
                self.retry_at = 0.0  # the server is fine; only that message was refused: reconnect at once
                raise RemoteError(f"the server refused a {req.type} message as too big ({e.rcvd.reason}); "
                                  "send smaller images or raise its --max-size") from None
            raise self._drop(f"connection lost: {e}") from None
        except (OSError, ProtocolError) as e:
            raise self._drop(f"connection failed: {_describe(e)}") from None
        if reply.get("type") == "error":
            code, message = reply.get("error"), reply.get("message")
            if code in ("malformed", "bad_request"):
                raise RemoteError(f"server refused the {req.type} request ({code}): {message}")
            raise self._drop(f"server error ({code}): {message}")
        if reply.get("id") != req.id or reply.get("type") != req.type:
            raise self._drop(f"reply {reply.get('type')}#{reply.get('id')} does not answer {req.type}#{req.id}")
        return reply

    def _check_infer(self, reply: dict, n: int) -> str | None:
        """Why an infer reply must not reach the robot (None: it may)."""
        if reply.get("done") is True:
            return None
        shape = (self.horizon, self.action_dim)
        chunks = [reply.get("actions")] + ([reply.get("samples")] if n > 1 else [])
        for a, want in zip(chunks, (shape, (n, *shape))):
            if not isinstance(a, np.ndarray) or a.shape != want or a.dtype.kind != "f":
                got = a.shape if isinstance(a, np.ndarray) else type(a).__name__
                return f"bad reply: actions must be {want} floats, got {got}"
            if not np.all(np.isfinite(a)):
                return "bad reply: non-finite actions"
        return None

    def _exec_index(self) -> int:
        return self.n_exec - 1

    def _fail(self, reason: str) -> None:
        self.failures += 1
        delay = min(self.config.max_backoff_s, self.config.backoff_s * 2 ** (self.failures - 1))
        self.retry_at = self._clock() + delay * self._rng.uniform(0.8, 1.2)
        self._reason = reason

    def _drop(self, reason: str) -> _Unavailable:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - closing a broken socket may fail in many ways; it is gone anyway
                pass
            self._conn = None
        self._fail(reason)
        return _Unavailable(reason)


class _Unavailable(Exception):
    """Internal: the server could not answer; the caller holds."""


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


class RemotePolicy:
    """The Policy contract (vla_core.policies.base) served remotely: ``sample(obs, plan, n) -> (n, H, D)``.
    ``held`` / ``last`` say whether the latest chunk was a hold and why. Gradient guidance needs the
    model in this process, so ``guide`` is refused; steer on the server instead."""

    def __init__(self, client: PolicyClient):
        self.client = client
        self.held = False
        self.last: dict | None = None

    @property
    def action_dim(self) -> int:
        return self.client.action_dim

    @property
    def n_exec(self) -> int:
        return self.client.n_exec

    def reset(self, seed: int | None = None) -> None:
        self.client.reset(seed)

    def sample(self, obs: Observation, plan: Plan, n: int = 1, guide=None) -> np.ndarray:
        if guide is not None:
            raise NotImplementedError("a remote policy cannot take a local guidance function")
        reply = self.client.infer(obs, plan, n)
        self.last, self.held = reply, reply["held"]
        return reply["samples"] if n > 1 else reply["actions"][None]
