"""Corrections in the real MuJoCo kitchen: the runtime loop with the oracle planner and the scripted expert,
a correction put on the queue mid-episode (as the voice topic or a typed line would)."""

import numpy as np

from sim.envs.kitchen_r.env import KitchenREnv
from sim.envs.kitchen_r.tasks import tasks_for
from sim.experts.policy import ExpertPolicy
from vla_core.corrections.config import CorrectionConfig
from vla_core.corrections.override import Overrider
from vla_core.planners import OraclePlanner
from vla_core.runtime import LoopConfig, RuntimeLoop

TASK = tasks_for("train", "pick_place")[0]
SEED = 2


def run(env, corrections_at=None, steps=40, overrider=None, **cfg):
    """(actions (T, 10), EE base-frame positions (T, 3), base poses (T, 3), StepEvents) of one seeded episode;
    ``corrections_at``: {step: text} put on the queue after that step."""
    ov = overrider or (Overrider(CorrectionConfig(**cfg)) if corrections_at is not None else None)
    events = []

    def on_step(ev):
        events.append(ev)
        if corrections_at and ev.t in corrections_at:
            ov.source.put(corrections_at[ev.t])

    loop = RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env), LoopConfig(n_exec=8, max_steps=steps),
                       on_step=on_step, corrections=ov)
    loop.run_episode(SEED, TASK)
    return (np.array([e.action for e in events]), np.array([e.obs.proprio.ee_pos for e in events]),
            np.array([e.obs.proprio.base_pose for e in events]), events)


def test_an_empty_channel_changes_no_action():
    env = KitchenREnv()
    plain, _, _, _ = run(env, steps=60)
    with_channel, _, _, events = run(env, corrections_at={}, steps=60)
    np.testing.assert_array_equal(plain, with_channel)
    assert all(e.corrections == () for e in events)


def test_stop_freezes_the_robot_and_continue_hands_back():
    env = KitchenREnv()
    ref_actions, ref_ee, ref_base, _ = run(env, steps=40)
    assert np.linalg.norm(ref_base[35, :2] - ref_base[20, :2]) > 0.05  # the expert is driving then
    actions, ee, base, events = run(env, corrections_at={20: "stop", 35: "continue"}, steps=45)
    frozen = slice(21, 35)  # steps after the stop arrived, before continue
    assert all(e.plan.plan.to_text() == "stop" for e in events[frozen])
    np.testing.assert_allclose(actions[frozen, :2], 0.0)  # base commanded still
    assert np.linalg.norm(base[34, :2] - base[21, :2]) < 0.01  # and it stays: a turning base coasts to rest
    assert abs(base[34, 2] - base[28, 2]) < 0.002  # within ~0.5 s
    assert np.linalg.norm(ee[34] - ee[22]) < 0.01
    latency = [c.latency_ms for e in events for c in e.corrections if c.kind == "freeze"]
    assert len(latency) == 1 and 0 <= latency[0] < 1000
    assert events[36].plan.plan.to_text() != "stop"  # continue: the planner's plan again
    assert np.linalg.norm(base[44, :2] - base[36, :2]) > 0.01  # and the robot moves on


def test_move_left_moves_the_ee_left():
    env = KitchenREnv()
    _, ref_ee, _, _ = run(env, steps=40)
    actions, ee, base, events = run(env, corrections_at={20: "move left"}, steps=40, motion_duration_s=1.5,
                                    cut_chunk="all")
    moving = [i for i, e in enumerate(events) if e.plan.plan.to_text() == "move arm left"]
    assert moving[0] == 20 and len(moving) == 15  # from the next action, 1.5 s at 10 Hz
    np.testing.assert_allclose(actions[moving, :2], 0.0)  # the base holds while the arm moves
    dy = ee[moving[-1], 1] - ee[moving[0] - 1, 1]  # base-frame +y is left
    assert dy > 0.08, dy  # ~1 cm per action
    assert abs(ee[moving[-1], 2] - ee[moving[0] - 1, 2]) < 0.02  # and not down
    assert dy - (ref_ee[moving[-1], 1] - ref_ee[moving[0] - 1, 1]) > 0.08  # the expert alone would not
    assert events[moving[-1] + 1].plan.plan.to_text() != "move arm left"  # over: the planner again
