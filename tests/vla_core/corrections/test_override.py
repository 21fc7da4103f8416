"""The correction channel inside ChunkStepper, with stub planner/policy: when an override begins and ends,
what it hands out, latency, and that without corrections nothing changes."""

import numpy as np
import pytest

from vla_core.corrections import parse_correction
from vla_core.corrections.config import CorrectionConfig, load_correction_config
from vla_core.corrections.override import CorrectionQueue, Overrider
from vla_core.observation import Observation, Proprio
from vla_core.planners.base import PlanResult
from vla_core.plans import Instruction, LanguageMotion, Subtask
from vla_core.runtime import ChunkStepper, LoopConfig

EE = np.array([0.5, 0.0, 1.2])
Q = np.array([1.0, 0.0, 0.0, 0.0])


def obs(t=0.0, ee=EE):
    p = Proprio(np.zeros(7), 0.08, np.asarray(ee, float), Q, np.zeros(3))
    return Observation(p, np.zeros((0, 3)), (), "wipe", t)


class Planner:
    def __init__(self):
        self.calls = 0

    def reset(self, task):
        self.calls = 0

    def plan(self, o):
        self.calls += 1
        return PlanResult(Instruction("wipe the table", Subtask("pick", "sponge")), 0.9)


class Policy:
    action_dim = 10

    def __init__(self):
        self.samples, self.plans = 0, []

    def reset(self):
        self.samples = 0

    def sample(self, o, plan, n=1, guide=None):
        self.samples += 1
        self.plans.append(plan)
        return np.full((n, 4, 10), float(self.samples))


def stepper(n_exec=4, **cfg):
    ov = Overrider(CorrectionConfig(**cfg), CorrectionQueue())
    s = ChunkStepper(Planner(), Policy(), LoopConfig(n_exec=n_exec), corrections=ov)
    s.reset("wipe")
    return s, ov.source


def test_without_corrections_the_calls_are_the_same():
    plain = ChunkStepper(Planner(), Policy(), LoopConfig(n_exec=3))
    plain.reset("wipe")
    s, _ = stepper(n_exec=3)
    a = [plain.next(obs(0.1 * i)) for i in range(10)]
    b = [s.next(obs(0.1 * i)) for i in range(10)]
    assert [d.action.tolist() for d in a] == [d.action.tolist() for d in b]
    assert plain.planner.calls == s.planner.calls and plain.policy.samples == s.policy.samples
    assert all(d.corrections == () and d.override == "none" for d in b)


def test_stop_cuts_the_chunk_and_holds_until_continue():
    s, q = stepper()
    s.next(obs())
    q.put("stop")
    d = s.next(obs(0.1, ee=EE + [0.01, 0, 0]))  # mid-chunk: cut at once
    assert d.override == "freeze" and d.plan.plan == LanguageMotion("stop") and d.new_chunk
    hold = d.action
    np.testing.assert_allclose(hold[:2], 0)  # base still
    np.testing.assert_allclose(hold[2:5], EE + [0.01, 0, 0])  # where the EE was when the stop arrived
    assert hold[9] == 1.0  # the last gripper command is kept
    (applied,) = d.corrections
    assert applied.kind == "freeze" and applied.latency_ms >= 0
    for i in range(5):  # the hold pose does not creep with the measured pose
        np.testing.assert_allclose(s.next(obs(0.2 + 0.1 * i, ee=EE + [0.02, 0, 0])).action, hold)
    calls = s.planner.calls
    q.put("continue")
    d = s.next(obs(1.0))
    assert d.override == "none" and d.replanned and s.planner.calls == calls + 1
    assert [c.kind for c in d.corrections] == ["resume"]


def test_motion_overrides_from_the_next_chunk_for_its_duration_then_hands_back():
    s, q = stepper(n_exec=4, motion_duration_s=0.5)
    s.next(obs(0.0))
    q.put("move left")
    d = s.next(obs(0.1))
    assert d.override == "motion" and d.plan.plan.text == "wipe the table"  # the chunk runs out first
    assert d.under == "none"  # pending: this action is still the planner's (what a dataset records)
    s.next(obs(0.2)), s.next(obs(0.3))
    d = s.next(obs(0.4))
    assert d.plan.plan == LanguageMotion("move arm left") and d.corrections[0].plan == "move arm left"
    assert d.under == "motion"
    assert d.action[3] == pytest.approx(EE[1] + 0.01) and d.action[2] == EE[0] and d.action[4] == EE[2]
    assert s.next(obs(0.8)).plan.plan.text == "move arm left"
    d = s.next(obs(0.9))  # 0.4 + 0.5 s: over
    assert d.plan.plan.text == "wipe the table" and d.replanned and d.corrections[0].kind == "expired"


def test_cut_chunk_all_starts_a_motion_at_once_and_a_bit_is_shorter():
    s, q = stepper(n_exec=4, motion_duration_s=1.0, cut_chunk="all")
    s.next(obs(0.0))
    q.put("a bit lower")
    d = s.next(obs(0.1))
    assert d.plan.plan.text == "move arm down" and d.action[4] == pytest.approx(EE[2] - 0.01)
    assert s.next(obs(0.55)).plan.plan.text == "move arm down"
    assert s.next(obs(0.6)).plan.plan.text == "wipe the table"  # 0.1 + 0.5 × 1.0 s


def test_instruction_keeps_the_substep_and_goes_to_the_policy():
    s, q = stepper(n_exec=2)
    s.next(obs())
    q.put("grab the handle instead")
    s.next(obs(0.1))
    d = s.next(obs(0.2))
    assert d.plan.plan == Instruction("grab the handle", Subtask("pick", "sponge"))
    assert s.policy.plans[-1] is d.plan.plan
    for i in range(6):
        assert s.next(obs(0.3 + i)).override == "instruction"  # no duration: until continue / next correction


def test_instruction_ends_with_its_substep_unless_that_was_over_already():
    done = set()
    s, q = stepper(n_exec=2)
    s.subtask_done = lambda st: st in done
    s.next(obs())
    q.put("grab the handle instead")  # the planner's sub-step (pick the sponge) is still running
    s.next(obs(0.1))
    assert s.next(obs(0.2)).override == "instruction"
    done.add(Subtask("pick", "sponge"))
    d = s.next(obs(0.3))
    assert d.override == "none" and [r.kind for r in d.corrections] == ["expired"]  # the sub-step ended: planner
    # a planner stuck on a finished sub-step: the correction must not end at once with it
    q.put("drive to the counter")
    kinds = []
    for i in range(8):
        d = s.next(obs(0.4 + i))
        kinds += [r.kind for r in d.corrections]
        assert d.override == "instruction" and d.under == ("instruction" if i >= 1 else "none"), i
    assert d.plan.plan == Instruction("drive to the counter", None) and kinds == ["instruction"]


def test_unrecognised_text_changes_nothing_but_is_reported():
    s, q = stepper(n_exec=4)
    first = s.next(obs())
    c = q.put("sing a song")
    d = s.next(obs(0.1))
    assert c.kind == "unrecognised" and d.override == "none" and not d.new_chunk
    assert d.action.tolist() == first.action.tolist()
    assert d.corrections[0].kind == "unrecognised" and d.corrections[0].latency_ms is None
    assert "no correction" in d.corrections[0].message


def test_queue_takes_a_parsed_correction_as_it_is():
    q = CorrectionQueue(clock=lambda: 7.0)
    c = parse_correction("move left")
    assert q.put(c) is c and q.put("stop").kind == "freeze"
    assert [(r.correction, r.arrived) for r in q.drain()] == [(c, 7.0), (parse_correction("stop"), 7.0)]


def test_reset_drops_queued_corrections():
    s, q = stepper()
    q.put("stop")
    s.reset("again")
    assert s.next(obs()).override == "none"


def test_policy_executor_sends_the_motion_to_the_policy():
    s, q = stepper(n_exec=4, motion_executor="policy", cut_chunk="all")
    s.next(obs())
    q.put("rotate the gripper left")
    d = s.next(obs(0.1))
    assert s.policy.plans[-1] == LanguageMotion("rotate arm left") and d.chunk.shape == (4, 10)


def test_config_group_loads_and_rejects_bad_values():
    cfg = load_correction_config()
    assert cfg == CorrectionConfig()  # configs/corrections/default.yaml holds the defaults
    assert load_correction_config(overrides={"cut_chunk": "all"}).cut_chunk == "all"
    with pytest.raises(ValueError, match="corrections: unknown key"):
        CorrectionConfig.from_dict({"cut": "all"})
    for bad in ({"motion_duration_s": -1}, {"step_m": float("nan")}, {"cut_chunk": "some"},
                {"motion_executor": "llm"}, {"step_rad": True}):
        with pytest.raises(ValueError):
            CorrectionConfig(**bad)
    with pytest.raises(ValueError, match="no corrections config"):
        load_correction_config("nope")
