"""Shared pieces for the policy-server tests: a tiny random-weight checkpoint, observations, and a
real ``python -m vla_core.serve`` process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vla_core.observation import Observation, Proprio

ROOT = Path(__file__).resolve().parents[3]
NAMES = ["red_mug", "table", "microwave_handle"]
TINY = dict(kind="diffusion", keypoint_names=NAMES, horizon=8, n_exec=4, d_model=32, layers=1, heads=2,
            unet_dims=[16, 32], infer_steps=3)


def tiny_model():
    import torch

    from vla_core.policies.chunk_model import ChunkModel, ChunkModelConfig

    torch.manual_seed(0)
    return ChunkModel(ChunkModelConfig(**TINY), torch.randn(len(NAMES), 384))


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    from vla_core.policies.checkpoint import save_checkpoint

    return save_checkpoint(tiny_model(), tmp_path_factory.mktemp("serve") / "tiny")


def observation(time_s: float = 0.0, gripper: float = 0.04, rgb: bool = False) -> Observation:
    kp = np.array([[0.6, 0.1, 0.05], [np.nan, np.nan, np.nan], [0.5, -0.3, 0.4]], np.float32)
    prop = Proprio(np.linspace(-0.5, 0.5, 7), gripper, np.array([0.5, 0.0, 0.4]), np.array([0.0, 1.0, 0.0, 0.0]),
                   np.array([0.1, -0.2, 3.1]))
    cams = {"head": np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)} if rgb else {}
    depth = {"head": np.full((4, 5), 1.5, np.float32)} if rgb else {}
    return Observation(prop, kp, tuple(NAMES), "put the red mug on the table", time_s, rgb=cams, depth=depth)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``python -m vla_core.serve`` as a child process (one torch thread, niced like its parent)."""

    def __init__(self, checkpoint: Path, port: int, log: Path, *extra: str):
        self.checkpoint, self.port, self.log, self.extra = checkpoint, port, log, extra
        self.proc: subprocess.Popen | None = None
        self.health_seen: list[int] = []  # every /healthz status seen while waiting (0: nothing listening)
        self.handshake_while_loading: int | None = None

    def start(self) -> ServerProcess:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
               "TOKENIZERS_PARALLELISM": "false"}
        cmd = [sys.executable, "-m", "vla_core.serve", "--host", "127.0.0.1", "--port", str(self.port),
               "--checkpoint", str(self.checkpoint), "--threads", "1", *self.extra]
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout_s: float = 90.0) -> ServerProcess:
        from websockets.exceptions import InvalidStatus
        from websockets.sync.client import connect

        from vla_core.serve import health

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                status, _ = health("127.0.0.1", self.port, timeout_s=2.0)
            except OSError:
                status = 0
            self.health_seen.append(status)
            if status == 200:
                return self
            if status == 503 and self.handshake_while_loading is None:
                try:
                    connect(f"ws://127.0.0.1:{self.port}", open_timeout=2, proxy=None, legacy=True).close()
                    self.handshake_while_loading = 101
                except InvalidStatus as e:
                    self.handshake_while_loading = e.response.status_code
            time.sleep(0.05)
        raise RuntimeError(f"server not ready in {timeout_s} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no goodbye to anyone, as a crash or a pulled plug."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        return None if self.proc is None else self.proc.returncode
