"""The policy server under load and faults: a real ``python -m vla_core.serve`` process on loopback.

    python bench/serve_load.py                                          # random weights, default model size
    python bench/serve_load.py --checkpoint checkpoints/kitchen_r_diffusion

Measures round-trip latency (p50/p95) and throughput for 1 client and for 50 concurrent clients,
the rejection of malformed and oversized messages (with the server still answering afterwards),
and a SIGKILL mid-episode followed by a restart on the same port: how fast the client holds, how
long a held call blocks, and how soon after the restarted server is healthy the client is back.
Observation and plan are a real kitchen_r pick-and-place start (privileged keypoints, the oracle's
instruction). Writes docs/benchmarks/serve.{json,md}; the server runs 1 torch thread, 1 worker.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

MAX_SIZE = 2**20  # the server's --max-size here (the default is 8 MiB); oversized probes send one byte more


def pct(xs, q) -> float:
    return float(np.percentile(np.asarray(xs, dtype=float), q)) if len(xs) else float("nan")


def stats(xs) -> dict:
    return {"p50": round(pct(xs, 50), 2), "p95": round(pct(xs, 95), 2), "max": round(float(max(xs)), 2), "n": len(xs)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def random_checkpoint(path: Path, keypoint_names) -> Path:
    """A random-weight ChunkModel at the default config: the compute of a trained one, none of its skill."""
    import torch

    from vla_core.policies.checkpoint import save_checkpoint
    from vla_core.policies.chunk_model import ChunkModel, ChunkModelConfig

    torch.manual_seed(0)
    cfg = ChunkModelConfig(keypoint_names=list(keypoint_names))
    return save_checkpoint(ChunkModel(cfg, torch.randn(len(keypoint_names), 384)), path)


class Server:
    def __init__(self, checkpoint: Path, port: int, log: Path):
        self.checkpoint, self.port, self.log, self.proc = checkpoint, port, log, None

    def start(self) -> float:
        """Starts the process; → seconds until /healthz answers 200."""
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "vla_core.serve", "--port", str(self.port), "--checkpoint", str(self.checkpoint),
               "--threads", "1", "--workers", "1", "--max-size", str(MAX_SIZE)]
        start = time.monotonic()
        with open(self.log, "ab") as f:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=f, stderr=subprocess.STDOUT)
        self.wait_healthy(start + 120)
        return time.monotonic() - start

    def healthy(self) -> bool:
        from vla_core.serve import health

        try:
            return health("127.0.0.1", self.port, timeout_s=0.5)[0] == 200
        except OSError:
            return False

    def wait_healthy(self, deadline: float) -> None:
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not come up:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.02)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def single_client(server: Server, obs, plan, calls: int) -> dict:
    from vla_core.serve import ClientConfig, PolicyClient

    with PolicyClient("127.0.0.1", server.port, ClientConfig(timeout_s=30)) as c:
        for _ in range(5):  # warm-up: connection, text cache, allocator
            c.infer(obs, plan)
        replies, start = [], time.perf_counter()
        for _ in range(calls):
            replies.append(c.infer(obs, plan))
        wall = time.perf_counter() - start
    held = sum(r["held"] for r in replies)
    rt = [r["timing"]["client_ms"] for r in replies]
    return {"calls": calls, "held": held, "round_trip_ms": stats(rt),
            "server_ms": stats([r["timing"]["server_ms"] for r in replies]),
            "infer_ms": stats([r["timing"]["infer_ms"] for r in replies]),
            "overhead_ms": stats([r["timing"]["client_ms"] - r["timing"]["infer_ms"] for r in replies]),
            "throughput_per_s": round(calls / wall, 1)}


def concurrent_clients(server: Server, obs, plan, clients: int, calls: int) -> dict:
    from vla_core.serve import ClientConfig, PolicyClient

    barrier, results, errors = threading.Barrier(clients + 1), [None] * clients, []

    def robot(i):
        try:
            with PolicyClient("127.0.0.1", server.port, ClientConfig(timeout_s=60)) as c:
                c.infer(obs, plan)  # connect and warm up before the clock starts
                barrier.wait()
                results[i] = [c.infer(obs, plan) for _ in range(calls)]
        except Exception as e:  # noqa: BLE001 - counted in the report
            errors.append(f"{type(e).__name__}: {e}")
            barrier.abort()

    threads = [threading.Thread(target=robot, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join(300)
    wall = time.perf_counter() - start
    replies = [r for rs in results if rs for r in rs]
    ok = [r for r in replies if not r["held"]]
    return {"clients": clients, "calls_per_client": calls, "answered": len(ok), "expected": clients * calls,
            "held": len(replies) - len(ok), "errors": errors[:3],
            "round_trip_ms": stats([r["timing"]["client_ms"] for r in ok]),
            "queue_ms": stats([r["timing"]["queue_ms"] for r in ok]),
            "infer_ms": stats([r["timing"]["infer_ms"] for r in ok]),
            "throughput_per_s": round(len(ok) / wall, 1), "wall_s": round(wall, 2)}


def rejection(server: Server, obs, plan) -> dict:
    import msgpack
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from vla_core.serve.codec import ARRAY_EXT, packb
    from vla_core.serve.protocol import Request, decode_reply, encode_request, observation_to_wire, plan_to_wire

    good = {"type": "infer", "id": 1, "obs": observation_to_wire(obs), "plan": plan_to_wire(plan)}
    k = len(obs.keypoint_names)

    def keypoints_ext(dtype, shape, nbytes):
        ext = msgpack.ExtType(ARRAY_EXT, msgpack.packb([dtype, shape, b"\x00" * nbytes]))
        return packb({**good, "obs": {**good["obs"], "keypoints": ext}})

    nan = observation_to_wire(obs)
    nan["proprio"]["joint_pos"] = np.full(7, np.nan)
    rng = np.random.default_rng(0)
    cases = ([("random bytes", rng.bytes(int(n)), "malformed") for n in rng.integers(1, 4096, 20)] + [
        ("text frame", "hello?", "malformed"),
        ("not a map", packb([1, 2, 3]), "malformed"),
        ("unknown type", packb({"type": "shutdown", "id": 3}), "malformed"),
        ("object dtype array", keypoints_ext("|O", [k, 3], 8 * 3 * k), "malformed"),
        ("shape/size mismatch", keypoints_ext("<f4", [k, 3], 8), "malformed"),
        ("huge declared shape", keypoints_ext("<f4", [2**40, 2**40], 16), "malformed"),
        ("wrong proprio shape", packb({**good, "obs": {**good["obs"], "proprio": {**good["obs"]["proprio"],
                                                                                   "joint_pos": np.zeros(6)}}}),
         "malformed"),
        ("NaN proprio", packb({**good, "obs": nan}), "bad_request"),
        ("no plan, no planner", packb({k_: v for k_, v in good.items() if k_ != "plan"}), "bad_request"),
    ])
    right, latencies = 0, []
    url = f"ws://127.0.0.1:{server.port}"
    with connect(url, proxy=None, open_timeout=10) as ws:
        for _, data, code in cases:
            t = time.perf_counter()
            ws.send(data)
            reply = decode_reply(ws.recv(timeout=30))
            latencies.append(1e3 * (time.perf_counter() - t))
            right += reply.get("type") == "error" and reply.get("error") == code
        ws.send(encode_request(Request("infer", 99, obs=obs, plan=plan)))
        still_usable = decode_reply(ws.recv(timeout=30)).get("type") == "infer"
    closed_1009 = 0
    for _ in range(3):
        with connect(url, proxy=None, open_timeout=10, max_size=None) as ws:
            ws.send(b"\x00" * (MAX_SIZE + 1))
            try:
                ws.recv(timeout=30)
            except ConnectionClosed as e:
                closed_1009 += e.rcvd is not None and e.rcvd.code == 1009
    from vla_core.serve import PolicyClient

    with PolicyClient("127.0.0.1", server.port) as c:
        after = not c.infer(obs, plan)["held"]
    return {"malformed_sent": len(cases), "error_replies_with_expected_code": right,
            "error_reply_ms": stats(latencies), "connection_usable_after": still_usable,
            "oversized_sent": 3, "oversized_closed_1009": closed_1009, "max_size_bytes": MAX_SIZE,
            "server_answers_after": after and server.healthy()}


def kill_restart(server: Server, obs, plan, hz: float = 10.0) -> dict:
    """A 10 Hz control loop on one client; the server is SIGKILLed, then restarted on the same port."""
    from vla_core.serve import ClientConfig, PolicyClient

    period = 1.0 / hz
    events: list[tuple[float, bool, float]] = []  # (time, held, client_ms)
    marks: dict[str, float] = {}
    stop = threading.Event()

    def control():
        with PolicyClient("127.0.0.1", server.port, ClientConfig(timeout_s=2.0, max_backoff_s=0.5)) as c:
            while not stop.is_set():
                r = c.infer(obs, plan)
                events.append((time.monotonic(), r["held"], r["timing"]["client_ms"]))
                time.sleep(max(0.0, period - r["timing"]["client_ms"] / 1e3))
            marks["connects"] = c.connects

    def recovered() -> float | None:
        """The first real chunk after the first hold that followed the kill."""
        after = [e for e in list(events) if e[0] >= marks["killed"]]
        first_hold = next((i for i, e in enumerate(after) if e[1]), None)
        return None if first_hold is None else next((e[0] for e in after[first_hold:] if not e[1]), None)

    t = threading.Thread(target=control)
    t.start()
    time.sleep(2.0)
    marks["killed"] = time.monotonic()
    server.kill()
    restart_s = server.start()
    marks["healthy"] = time.monotonic()  # start() polls /healthz every 20 ms
    deadline = time.monotonic() + 10
    while recovered() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)
    stop.set()
    t.join(10)
    back = recovered()
    if back is not None:
        marks["recovered"] = back
    during = [e for e in events if marks["killed"] <= e[0] < marks.get("recovered", float("inf"))]
    first_hold = next((e[0] for e in events if e[0] >= marks["killed"] and e[1]), None)
    return {"control_hz": hz, "calls": len(events), "held_calls": sum(e[1] for e in events),
            "held_before_kill": sum(e[1] for e in events if e[0] < marks["killed"]),
            "first_hold_after_kill_s": None if first_hold is None else round(first_hold - marks["killed"], 3),
            "held_call_ms": stats([e[2] for e in during if e[1]]) if during else None,
            "restart_to_healthy_s": round(restart_s, 2),
            "healthy_to_recovered_s": round(marks["recovered"] - marks["healthy"], 3) if "recovered" in marks else None,
            "outage_s": round(marks["recovered"] - marks["killed"], 2) if "recovered" in marks else None,
            "reconnections": marks.get("connects", 0) - 1,
            "held_after_recovery": sum(e[1] for e in events if e[0] > marks.get("recovered", float("inf")))}


def markdown(rep: dict) -> str:
    s1, s50, rj, kr = rep["single_client"], rep["concurrent"], rep["rejection"], rep["kill_restart"]
    m = rep["model"]
    ms = lambda d: f"{d['p50']:.1f} / {d['p95']:.1f}"  # noqa: E731
    return "\n".join([
        "# Policy server: load and faults", "",
        f"Command: `{rep['command']}`", "",
        f"{rep['date']} · {rep['machine']['cpu_count']} CPUs (1-min load average {rep['machine']['loadavg_1m']:.1f} "
        f"at start) · server: 1 torch thread, 1 inference worker, loopback · model: {m['source']} "
        f"({m['kind']}, {m['infer_steps']} {m['sampler']} steps, horizon {m['horizon']}, {m['keypoints']} keypoints) · "
        f"request {rep['messages']['request_bytes']} B, reply {rep['messages']['reply_bytes']} B · "
        f"server start to /healthz 200: {rep['server']['startup_s']:.1f} s", "",
        "## Latency and throughput", "",
        "| clients | replies | held | round trip p50 / p95 ms | model call p50 / p95 ms | queue p50 / p95 ms | replies/s |",
        "|---|---|---|---|---|---|---|",
        f"| 1 | {s1['calls'] - s1['held']}/{s1['calls']} | {s1['held']} | {ms(s1['round_trip_ms'])} | "
        f"{ms(s1['infer_ms'])} | – | {s1['throughput_per_s']} |",
        f"| {s50['clients']} | {s50['answered']}/{s50['expected']} | {s50['held']} | {ms(s50['round_trip_ms'])} | "
        f"{ms(s50['infer_ms'])} | {ms(s50['queue_ms'])} | {s50['throughput_per_s']} |", "",
        f"One client: transport + codec + server overhead (round trip − model call) p50 "
        f"{s1['overhead_ms']['p50']:.1f} ms, p95 {s1['overhead_ms']['p95']:.1f} ms. Fifty clients share one "
        f"inference worker, so their round trip is mostly queueing; throughput is bounded by the model call.", "",
        "## Malformed and oversized messages", "",
        "| probe | sent | rejected as expected | server still answering |", "|---|---|---|---|",
        f"| malformed (random bytes, text frame, bad dtype/shape/size ext, huge shape, bad fields, NaN proprio, "
        f"no plan) | {rj['malformed_sent']} | {rj['error_replies_with_expected_code']} error replies "
        f"(p50 {rj['error_reply_ms']['p50']:.1f} ms); same connection usable after: {rj['connection_usable_after']} "
        f"| {rj['server_answers_after']} |",
        f"| oversized ({rj['max_size_bytes'] + 1} B > --max-size) | {rj['oversized_sent']} | "
        f"{rj['oversized_closed_1009']} closed with 1009 (that connection only) | {rj['server_answers_after']} |", "",
        "## Server killed mid-episode (SIGKILL), restarted on the same port", "",
        "| figure | value |", "|---|---|",
        f"| control loop | {kr['control_hz']:.0f} Hz, {kr['calls']} calls, {kr['held_calls']} held, "
        f"{kr['held_before_kill']} held before the kill, {kr['held_after_recovery']} after recovery |",
        f"| kill → first hold chunk | {kr['first_hold_after_kill_s']} s |",
        f"| a held call blocks for (p50 / p95 / max) | {kr['held_call_ms']['p50']:.1f} / "
        f"{kr['held_call_ms']['p95']:.1f} / {kr['held_call_ms']['max']:.1f} ms (a reconnect attempt is bounded by "
        f"the client's 1 s connect timeout; between attempts a hold returns at once) |" if kr["held_call_ms"] else
        "| a held call blocks for | – |",
        f"| restart → /healthz 200 | {kr['restart_to_healthy_s']} s |",
        f"| /healthz 200 → first real chunk | {kr['healthy_to_recovered_s']} s (backoff capped at 0.5 s) |",
        f"| whole outage (kill → first real chunk) | {kr['outage_s']} s |",
        f"| reconnections | {kr['reconnections']} |", ""])


def command(argv: list[str] | None) -> str:
    """The exact command line, with the niceness and thread caps it ran under (they change the figures)."""
    nice = os.nice(0)
    caps = [f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS") if k in os.environ]
    prefix = (f"nice -n {nice} " if nice else "") + (f"env {' '.join(caps)} " if caps else "")
    return (prefix + "python bench/serve_load.py " + " ".join(argv if argv is not None else sys.argv[1:])).strip()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="chunk policy checkpoint (default: random weights at the default size)")
    p.add_argument("--calls", type=int, default=60, help="sequential calls for the one-client figures")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--calls-per-client", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "docs" / "benchmarks"), help="output folder")
    args = p.parse_args(argv)
    load1 = os.getloadavg()[0]

    from sim.envs.kitchen_r.env import KEYPOINT_NAMES, KitchenREnv
    from sim.envs.kitchen_r.tasks import tasks_for
    from vla_core.planners import OraclePlanner
    from vla_core.policies.checkpoint import read_config
    from vla_core.serve.codec import packb
    from vla_core.serve.protocol import Request, encode_request

    env = KitchenREnv()
    obs = env.reset(0, tasks_for("test", "pick_place")[0])
    planner = OraclePlanner(env)
    planner.reset(obs.task)
    plan = planner.plan(obs).plan
    env.close()

    tmp = Path(tempfile.mkdtemp(prefix="serve_bench_"))
    ckpt = Path(args.checkpoint) if args.checkpoint else random_checkpoint(tmp / "random", KEYPOINT_NAMES)
    model = read_config(ckpt)["model"]
    server = Server(ckpt, free_port(), tmp / "server.log")
    try:
        startup = server.start()
        print(f"server up in {startup:.1f} s", flush=True)
        single = single_client(server, obs, plan, args.calls)
        print("1 client:", json.dumps(single), flush=True)
        conc = concurrent_clients(server, obs, plan, args.clients, args.calls_per_client)
        print(f"{args.clients} clients:", json.dumps(conc), flush=True)
        rej = rejection(server, obs, plan)
        print("rejection:", json.dumps(rej), flush=True)
        fault = kill_restart(server, obs, plan)
        print("kill/restart:", json.dumps(fault), flush=True)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    reply_bytes = len(packb({"type": "infer", "id": 1, "actions": np.zeros((model["horizon"], model["action_dim"]),
                                                                             np.float32),
                             "plan": plan.to_text(), "plan_kind": "instruction", "confidence": None,
                             "abstain_reason": None, "done": False, "n_exec": model["n_exec"],
                             "timing": {"infer_ms": 1.0, "queue_ms": 1.0, "server_ms": 1.0}}))
    report = {
        "command": command(argv),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "loadavg_1m": round(load1, 2)},
        "model": {"source": args.checkpoint or "random weights, default ChunkModelConfig", "kind": model["kind"],
                  "sampler": model["sampler"], "infer_steps": model["infer_steps"], "horizon": model["horizon"],
                  "action_dim": model["action_dim"], "keypoints": len(model["keypoint_names"])},
        "messages": {"request_bytes": len(encode_request(Request("infer", 1, obs=obs, plan=plan))),
                     "reply_bytes": reply_bytes},
        "server": {"startup_s": round(startup, 2), "torch_threads": 1, "workers": 1, "max_size": MAX_SIZE},
        "single_client": single, "concurrent": conc, "rejection": rej, "kill_restart": fault,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "serve.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "serve.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
