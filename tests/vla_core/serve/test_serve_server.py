"""The policy server as a real process on loopback: health, round trip, 50 clients at once, malformed and
oversized messages, and a server killed mid-episode (the robot holds still, then the loop carries on).

The kill/restart test runs last in this module: it restarts the module's server on the same port."""

import json
import threading
import time

import numpy as np
import pytest
from serve_fixtures import ServerProcess, free_port, observation, tiny_model
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from vla_core.plans import Instruction, LanguageMotion, Path3D
from vla_core.policies.chunk_policy import ChunkPolicy
from vla_core.serve import ClientConfig, PolicyClient, RemoteError, RemotePolicy, health
from vla_core.serve.codec import ARRAY_EXT, packb
from vla_core.serve.protocol import Request, decode_reply, encode_request, observation_to_wire

PATH = Path3D(np.array([[0.5, 0.0, 0.4, 0.0], [0.6, 0.1, 0.1, 1.0]]))
MAX_SIZE = 2**20
pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def server(checkpoint, tmp_path_factory):
    proc = ServerProcess(checkpoint, free_port(), tmp_path_factory.mktemp("serve_log") / "server.log",
                         "--max-size", str(MAX_SIZE))
    proc.start().wait_ready()
    yield proc
    proc.stop()


def client(server, **cfg) -> PolicyClient:
    return PolicyClient("127.0.0.1", server.port, ClientConfig(**{"timeout_s": 30.0, **cfg}))


def test_healthz_is_503_while_loading_then_200(server):
    seen = [s for s in server.health_seen if s]  # 0: the process was not listening yet
    assert seen[0] == 503 and seen[-1] == 200 and set(seen) == {503, 200}
    assert server.handshake_while_loading == 503  # no websocket session before the models are loaded
    status, body = health("127.0.0.1", server.port)
    info = json.loads(body)
    assert status == 200 and info["status"] == "ok" and (info["horizon"], info["action_dim"]) == (8, 10)


def test_round_trip_every_plan_kind_and_timing(server):
    with client(server) as c:
        first = c.infer(observation(), PATH)  # a new connection is a fresh episode with the server's seed 0
        np.testing.assert_allclose(first["actions"], ChunkPolicy(tiny_model(), seed=0).sample(observation(), PATH)[0],
                                   atol=1e-5)
        assert c.info["n_exec"] == 4 and c.connects == 1
        for plan in (Instruction("pick the red mug"), LanguageMotion("move arm forward"), PATH):
            r = c.infer(observation(0.1, rgb=True), plan, n=2)
            assert not r["held"] and r["actions"].shape == (8, 10) and r["samples"].shape == (2, 8, 10)
            assert np.all(np.isfinite(r["samples"])) and r["plan"] == plan.to_text()
            t = r["timing"]
            assert t["client_ms"] >= t["server_ms"] >= t["infer_ms"] > 0
        assert c.reset(seed=0)
        np.testing.assert_array_equal(c.infer(observation(), PATH)["actions"], first["actions"])


def test_fifty_concurrent_clients_are_all_answered(server):
    n, calls, barrier = 50, 3, threading.Barrier(50)
    results: list = [None] * n

    def robot(i):
        with client(server) as c:
            barrier.wait()
            results[i] = [c.infer(observation(0.1 * k), Instruction("pick the red mug")) for k in range(calls)]

    threads = [threading.Thread(target=robot, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    replies = [r for rs in results if rs for r in rs]
    assert len(replies) == n * calls
    assert not any(r["held"] for r in replies), [r.get("reason") for r in replies if r["held"]][:3]
    assert all(r["actions"].shape == (8, 10) and np.all(np.isfinite(r["actions"])) for r in replies)
    assert health("127.0.0.1", server.port)[0] == 200


def _bad_messages() -> list:
    import msgpack

    good = {"type": "infer", "id": 1, "obs": observation_to_wire(observation()), "plan": {"kind": "motion", "text": "x"}}

    def with_ext(dtype, shape, raw):
        obs = {**good["obs"], "keypoints": msgpack.ExtType(ARRAY_EXT, msgpack.packb([dtype, shape, raw]))}
        return packb({**good, "obs": obs})

    nan = observation()
    nan.proprio.joint_pos[0] = np.nan
    return [
        (np.random.default_rng(0).bytes(300), "malformed"),
        ("a text frame", "malformed"),
        (packb([1, 2, 3]), "malformed"),
        (packb({"type": "explode", "id": 2}), "malformed"),
        (with_ext("|O", [3, 3], b"\x00" * 72), "malformed"),  # object dtype: never unpickled, never built
        (with_ext("<f4", [3, 3], b"\x00" * 8), "malformed"),  # shape/size mismatch
        (with_ext("<f4", [2**40, 2**40], b"\x00" * 36), "malformed"),  # a huge declared shape
        (encode_request(Request("infer", 3, obs=nan, plan=PATH)), "bad_request"),  # the policy refuses NaN
        (encode_request(Request("infer", 4, obs=observation())), "bad_request"),  # no plan, no planner
    ]


def test_malformed_messages_get_error_replies_and_the_connection_stays_usable(server):
    with connect(f"ws://127.0.0.1:{server.port}", proxy=None, open_timeout=10) as ws:
        for data, code in _bad_messages():
            ws.send(data)
            reply = decode_reply(ws.recv(timeout=30))
            assert reply["type"] == "error" and reply["error"] == code, reply
            assert "server_ms" in reply["timing"]
        ws.send(encode_request(Request("infer", 99, obs=observation(), plan=PATH)))
        ok = decode_reply(ws.recv(timeout=30))
        assert ok["type"] == "infer" and ok["id"] == 99 and ok["actions"].shape == (8, 10)
    with client(server) as c:  # the client raises for what a retry cannot fix, and keeps its connection
        nan = observation()
        nan.proprio.ee_quat[:] = np.nan
        with pytest.raises(RemoteError, match="non-finite proprio"):
            c.infer(nan, PATH)
        assert not c.infer(observation(), PATH)["held"] and c.connects == 1


def test_oversized_messages_close_only_that_connection(server):
    with connect(f"ws://127.0.0.1:{server.port}", proxy=None, open_timeout=10, max_size=None) as ws:
        ws.send(b"\x00" * (MAX_SIZE + 1))
        with pytest.raises(ConnectionClosed) as e:
            ws.recv(timeout=30)
        assert e.value.rcvd is not None and e.value.rcvd.code == 1009  # message too big
    with client(server) as c:
        big = observation()
        big.rgb["head"] = np.zeros((1024, 1024, 3), np.uint8)  # 3 MiB > the server's 1 MiB
        with pytest.raises(RemoteError, match="too big"):
            c.infer(big, PATH)
        assert not c.infer(observation(), PATH)["held"]  # reconnects at once: a refusal is not an outage
    assert health("127.0.0.1", server.port)[0] == 200


class EpisodeOver(Exception):
    """Ends the test's episode from its on_step hook once recovery has been seen."""


def test_server_killed_mid_episode_robot_holds_still_then_recovers(server):
    """The unchanged RuntimeLoop drives the MuJoCo kitchen through RemotePolicy. The server is killed
    (SIGKILL) mid-episode and restarted on the same port; while it is gone every chunk is a hold (base
    stopped, EE at its measured pose, gripper as commanded), and the loop carries on when it is back."""
    from sim.envs.kitchen_r.env import KitchenREnv
    from sim.envs.kitchen_r.tasks import tasks_for
    from vla_core.planners import OraclePlanner
    from vla_core.runtime import LoopConfig, RuntimeLoop

    env = KitchenREnv()
    policy = RemotePolicy(client(server, timeout_s=5.0, max_backoff_s=0.5))
    kill_at, steps, chunks, marks, held_ms = 12, [], [], {}, []

    def on_step(ev):
        p = ev.obs.proprio
        steps.append((ev.t, policy.held, p.base_pose.copy(), p.ee_pos.copy(), p.gripper))
        chunks.append(policy.last["actions"])
        if policy.held:
            held_ms.append(policy.last["timing"]["client_ms"])
        if ev.t == kill_at:
            server.kill()
            marks["killed"] = time.monotonic()
            server.start()  # loads for a while; the robot keeps running meanwhile
            watcher.start()
        if "killed" in marks and "recovered" not in marks:
            if not policy.held and ev.t > kill_at:
                marks["recovered"], marks["recovered_step"] = time.monotonic(), ev.t
            time.sleep(0.02)  # robot time passes while the server is away
        if "recovered_step" in marks and ev.t >= marks["recovered_step"] + 8:
            raise EpisodeOver

    def watch_health():  # when the restarted server is healthy, seen from outside the loop
        deadline = time.monotonic() + 120
        while not health_ok(server.port) and time.monotonic() < deadline:
            time.sleep(0.02)
        marks["healthy"] = time.monotonic()

    watcher = threading.Thread(target=watch_health, daemon=True)
    loop = RuntimeLoop(env, OraclePlanner(env), policy, LoopConfig(n_exec=4, max_steps=5000), on_step=on_step)
    with pytest.raises(EpisodeOver):
        loop.run_episode(3, tasks_for("test", "navigate")[0])
    assert server.proc.poll() is None and health("127.0.0.1", server.port)[0] == 200

    held = [s for s in steps if s[1]]
    assert steps[kill_at][1] and len(held) >= 20  # the first chunk after the kill already holds
    assert not any(s[1] for s in steps[:kill_at])  # … and nothing held before it
    # the robot was moving when the server died: it decelerates onto the held pose, then stays there
    settled = held[8:]
    base = np.array([s[2] for s in settled])
    ee = np.array([s[3] for s in settled])
    width = np.array([s[4] for s in settled])
    assert np.ptp(base, axis=0).max() < 1e-3, "the base moved during a hold"
    assert np.linalg.norm(ee - ee[0], axis=1).max() < 0.005, "the EE drifted during a hold"
    assert np.ptp(width) < 0.001, "the gripper moved during a hold"
    # what was sent while the server was away: base stopped, the gripper as last commanded
    last_real, first_hold = chunks[kill_at - 1], chunks[kill_at]
    assert np.all(first_hold[:, :2] == 0) and np.all(first_hold[:, 9] == last_real[3, 9])
    # the client retries every ≤ 0.6 s, so it finds the restarted server within about a second (the watcher
    # polls every 20 ms, so it may see health a moment after the client already has)
    watcher.join(5)
    assert -0.5 < marks["recovered"] - marks["healthy"] < 3.0
    assert policy.client.connects == 2 and not policy.held
    assert max(held_ms) < 1500  # a hold never waits out a long timeout: refused / 503 answer at once


def health_ok(port: int) -> bool:
    try:
        return health("127.0.0.1", port, timeout_s=0.5)[0] == 200
    except OSError:
        return False
