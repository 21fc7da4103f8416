"""A connection's Session in-process: replies, per-connection episode state, planner plans, error replies."""

import numpy as np
import pytest
from serve_fixtures import observation, tiny_model

from vla_core.planners.base import PlanResult
from vla_core.plans import Path3D
from vla_core.policies.chunk_policy import ChunkPolicy
from vla_core.serve.codec import packb
from vla_core.serve.protocol import Request, decode_reply, encode_request
from vla_core.serve.session import ServeConfig, ServedModels

PATH = Path3D(np.array([[0.5, 0.0, 0.4, 0.0], [0.6, 0.1, 0.1, 1.0]]))  # path plans need no text encoder


class ScriptedPlanner:
    """A Planner (vla_core.planners.base) that says the next of its plans, then None (done)."""

    def __init__(self, plans):
        self.plans, self.task, self.resets = list(plans), "", []

    def reset(self, task: str) -> None:
        self.task = task
        self.resets.append(task)

    def plan(self, obs):
        return self.plans.pop(0) if self.plans else None


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    m = ServedModels(ServeConfig(tmp_path_factory.mktemp("unused")))
    m.model = tiny_model()  # what load() would read from a checkpoint, without MiniLM
    return m


def ask(session, req: Request) -> dict:
    return decode_reply(session.respond(encode_request(req), received=0.0))


def test_infer_reply_has_the_chunk_the_plan_and_timing(models):
    s = models.session()
    r = ask(s, Request("infer", 3, obs=observation(), plan=PATH, n=2))
    assert r["type"] == "infer" and r["id"] == 3 and r["done"] is False
    assert r["actions"].shape == (8, 10) and r["actions"].dtype == np.float32 and np.all(np.isfinite(r["actions"]))
    assert r["samples"].shape == (2, 8, 10) and np.array_equal(r["samples"][0], r["actions"])
    assert r["plan"] == PATH.to_text() and r["plan_kind"] == "path" and r["n_exec"] == 4
    assert {"server_ms", "queue_ms", "infer_ms"} <= set(r["timing"]) and r["timing"]["server_ms"] > 0


def test_sessions_keep_their_own_episode_and_reset_reseeds(models):
    local = ChunkPolicy(models.model, seed=0)
    expected = [local.sample(observation(t), PATH)[0] for t in (0.0, 0.1)]
    a, b = models.session(), models.session()
    got_a = ask(a, Request("infer", 1, obs=observation(0.0), plan=PATH))["actions"]
    ask(b, Request("infer", 1, obs=observation(0.0), plan=PATH))  # b's calls do not touch a's history or noise
    np.testing.assert_array_equal(got_a, expected[0])
    np.testing.assert_array_equal(ask(a, Request("infer", 2, obs=observation(0.1), plan=PATH))["actions"], expected[1])
    assert ask(a, Request("reset", 3, seed=0))["seed"] == 0
    np.testing.assert_array_equal(ask(a, Request("infer", 4, obs=observation(0.0), plan=PATH))["actions"], expected[0])


def test_without_a_plan_the_planner_plans_and_says_when_done(models):
    s = models.session()
    s.planner = ScriptedPlanner([PlanResult(PATH, 0.4, abstain_reason="unsure")])
    r = ask(s, Request("infer", 1, obs=observation()))
    assert r["plan"] == PATH.to_text() and r["confidence"] == 0.4 and r["abstain_reason"] == "unsure"
    assert "plan_ms" in r["timing"] and s.planner.resets == [observation().task]  # reset on the new task
    done = ask(s, Request("infer", 2, obs=observation()))
    assert done["done"] is True and done["actions"] is None
    ask(s, Request("reset", 3, task="another task"))
    assert s.planner.resets[-1] == "another task"


@pytest.mark.parametrize("data,code,match", [
    (b"\xc1\x00", "malformed", "undecodable"),
    ("a text frame", "malformed", "expected binary"),
    (packb({"type": "infer", "id": 9, "obs": {"proprio": {}}}), "malformed", "missing 'joint_pos'"),
    (encode_request(Request("infer", 10, obs=observation())), "bad_request", "no planner"),
])
def test_refused_requests_get_error_replies_with_timing(models, data, code, match):
    r = decode_reply(models.session().respond(data, received=0.0))
    assert r["type"] == "error" and r["error"] == code and match in r["message"] and "server_ms" in r["timing"]


def test_the_policy_s_own_refusal_is_a_bad_request_and_a_bug_is_internal(models):
    s = models.session()
    bad = observation()
    bad.proprio.ee_pos[0] = np.nan
    r = ask(s, Request("infer", 5, obs=bad, plan=PATH))
    assert (r["error"], r["id"]) == ("bad_request", 5) and "non-finite proprio" in r["message"]

    def broken(*a, **k):
        raise RuntimeError("boom")

    s.policy.sample = broken
    r = ask(s, Request("infer", 6, obs=observation(), plan=PATH))
    assert (r["error"], r["id"]) == ("internal", 6) and "boom" in r["message"]
    del s.policy.sample
    assert ask(s, Request("infer", 7, obs=observation(), plan=PATH))["type"] == "infer"  # the session carries on
