"""The scripted CALVIN expert completes instructions as judged from simulator state, one after
another without a reset (the chain protocol), starting each from wherever the last left the arm."""

import numpy as np
import pytest

from sim.envs.calvin import tasks as T
from sim.envs.calvin.env import CalvinEnv
from sim.experts.policy import ExpertPolicy
from vla_core.plans import Instruction


def run_chain(env, policy, start: dict, names: list[str], seed: int = 0) -> int:
    env.reset(seed, names[0], start=start)
    done = 0
    for i, name in enumerate(names):
        if i:
            env.set_task(name)
        policy.reset()
        sub = env.ground_truth_plan()[0]
        for _ in range(T.MAX_STEPS):
            env.step(policy.sample(env.observe(), Instruction(sub.text(), subtask=sub))[0, 0])
            if env.success():
                break
        else:
            return done
        done += 1
    return done


@pytest.fixture(scope="module")
def env():
    e = CalvinEnv("D")
    yield e
    e.close()


def valid(start: dict, names: list[str]) -> None:
    state = dict(start)
    for t in names:
        state = T.apply(state, t)  # raises when the chain breaks CALVIN's rules
    assert len({T.CATEGORIES[t] for t in names}) == len(names)


def test_fixtures_and_lights_in_one_chain(env):
    start = {"led": 0, "lightbulb": 0, "slider": "right", "drawer": "closed", "red_block": "table",
             "blue_block": "slider_left", "pink_block": "table", "grasped": 0}
    names = ["open_drawer", "move_slider_left", "turn_on_lightbulb", "turn_on_led"]
    valid(start, names)
    assert run_chain(env, ExpertPolicy(env), start, names) == 4


def test_blocks_in_one_chain(env):
    start = {"led": 1, "lightbulb": 1, "slider": "left", "drawer": "open", "red_block": "table",
             "blue_block": "table", "pink_block": "slider_right", "grasped": 0}
    names = ["lift_red_block_table", "stack_block", "unstack_block", "push_into_drawer"]
    valid(start, names)
    assert run_chain(env, ExpertPolicy(env), start, names, seed=2) == 4


def test_the_expert_refuses_plans_without_a_subtask(env):
    env.reset(0, "open_drawer", start=dict(T.start_states()[0]))
    with pytest.raises(ValueError, match="structured subtask"):
        ExpertPolicy(env).sample(env.observe(), Instruction("open the drawer"))
    assert np.isfinite(ExpertPolicy(env).expert.act(env.ground_truth_plan()[0])).all()
