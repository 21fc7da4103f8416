"""CALVIN re-creation: the chain generator's invariants, success predicates on constructed
states, start states built as asked, the env's contract."""

import mujoco
import numpy as np
import pytest

from sim.envs.calvin import catalog as C
from sim.envs.calvin import predicates as P
from sim.envs.calvin import tasks as T
from sim.envs.calvin.env import KEYPOINT_NAMES, CalvinEnv, EnvState


# ---- tasks and chains ------------------------------------------------------------------------
def test_the_34_tasks_and_their_categories():
    assert len(T.TASK_NAMES) == 34 and len(set(T.TASK_NAMES)) == 34
    assert len(set(T.CATEGORIES.values())) == 12
    assert T.CATEGORIES["rotate_red_block_left"] == T.CATEGORIES["push_pink_block_right"]
    assert all(len(T.ANNOTATIONS[n]) >= 3 for n in T.TASK_NAMES)
    assert T.task_by_id("calvin/open_drawer").instruction == "pull the handle to open the drawer"
    with pytest.raises(ValueError, match="unknown CALVIN task"):
        T.task_by_id("calvin/juggle")


def test_start_states_are_exactly_calvins_valid_ones():
    starts = [dict(s) for s in T.start_states()]
    assert len(starts) == len({tuple(sorted(s.items())) for s in starts}) == 192
    for s in starts:
        blocks = [s[b.name] for b in C.BLOCKS]
        assert s["grasped"] == 0 and blocks.count("table") in (1, 2)
        assert blocks.count("slider_left") <= 1 and blocks.count("slider_right") <= 1
    assert not T.valid_start({**starts[0], "red_block": "drawer"})
    assert not T.valid_start({**starts[0], "red_block": "slider_left", "blue_block": "slider_left", "pink_block": "table"})


def test_chains_are_seeded_follow_the_rules_and_cover_every_task():
    chains = T.chains()
    assert len(chains) == 1000 and chains == T.chains()  # cached and deterministic
    assert [c.tasks for c in T.chains(50, seed=3)] == [c.tasks for c in T.chains(50, seed=3)]
    assert [c.tasks for c in T.chains(50, seed=3)] != [c.tasks for c in T.chains(50, seed=4)]
    for c in chains:
        assert len(c.tasks) == 5 and T.valid_start(c.start_state)
        cats = [T.CATEGORIES[t] for t in c.tasks]
        assert len(set(cats)) == 5, c  # no two tasks of one category
        state = c.start_state
        for t in c.tasks:  # each instruction applies where the one before leaves the scene
            state = T.apply(state, t)
    assert {t for c in chains for t in c.tasks} == set(T.TASK_NAMES)
    assert len({c.start for c in chains}) == 192  # spread over every start state


def test_symbolic_rules():
    s = dict(T.start_states()[0])
    s.update(red_block="table", blue_block="slider_left", pink_block="slider_right", slider="right", drawer="closed")
    assert T.applicable(s, "lift_blue_block_slider") == {"blue_block": "grasped", "grasped": 1}
    assert T.applicable(s, "lift_pink_block_slider") is None  # behind the lid
    assert T.applicable(s, "place_in_drawer") is None  # nothing held
    held = T.apply(s, "lift_red_block_table")
    assert T.applicable(held, "open_drawer") is None  # hands full
    assert T.apply(held, "place_in_slider")["red_block"] == "slider_left"
    with pytest.raises(ValueError, match="does not apply"):
        T.apply(s, "close_drawer")
    assert T.subtask_for("place_in_slider", held).text() == "place the red block in the slider"
    assert T.subtask_for("rotate_pink_block_left", s).text() == "rotate the pink block left"


# ---- success predicates on constructed states ------------------------------------------------
def info(**kw) -> P.SceneInfo:
    pos = {b.name: np.array([0.45, 0.1 * i, C.DESK_TOP + b.half[2]]) for i, b in enumerate(C.BLOCKS)}
    base = dict(pos=pos, quat={b: np.array([1.0, 0, 0, 0]) for b in pos},
                touches={b: frozenset({"table"}) for b in pos}, fingers={b: False for b in pos},
                drawer=0.0, slider=0.0, switch=0.0, led=0, lightbulb=0, cabinet_y=0.0)
    for key in ("pos", "quat", "touches", "fingers"):
        base[key] = {**base[key], **kw.pop(key, {})}
    base.update(kw)
    out = P.SceneInfo(**base)
    out.locations = P.locations(out)
    return out


def yaw(deg: float) -> np.ndarray:
    a = np.deg2rad(deg) / 2
    return np.array([np.cos(a), 0, 0, np.sin(a)])


def test_rotate_and_push_predicates():
    start = info()
    assert P.task_success("rotate_red_block_left", start, info(quat={"red_block": yaw(70)}))
    assert not P.task_success("rotate_red_block_left", start, info(quat={"red_block": yaw(45)}))
    assert not P.task_success("rotate_red_block_right", start, info(quat={"red_block": yaw(70)}))
    assert P.task_success("rotate_red_block_right", start, info(quat={"red_block": yaw(-70)}))
    tipped = np.array([np.cos(0.5), np.sin(0.5), 0, 0])  # 57° about x
    assert not P.task_success("rotate_red_block_left", start, info(quat={"red_block": tipped}))
    moved = start.pos["blue_block"] + [0, 0.12, 0]
    assert P.task_success("push_blue_block_left", start, info(pos={"blue_block": moved}))
    assert not P.task_success("push_blue_block_right", start, info(pos={"blue_block": moved}))
    lifted = {"blue_block": moved}, {"blue_block": frozenset({"robot"})}
    assert not P.task_success("push_blue_block_left", start, info(pos=lifted[0], touches=lifted[1]))


def test_lift_place_stack_unstack_predicates():
    start = info()
    up = start.pos["pink_block"] + [0, 0, 0.08]
    held = dict(pos={"pink_block": up}, touches={"pink_block": frozenset({"robot"})}, fingers={"pink_block": True})
    assert P.task_success("lift_pink_block_table", start, info(**held))
    assert not P.task_success("lift_pink_block_slider", start, info(**held))  # it was on the table
    low = dict(held, pos={"pink_block": start.pos["pink_block"] + [0, 0, 0.02]})
    assert not P.task_success("lift_pink_block_table", start, info(**low))
    holding = info(**held)
    in_drawer = info(touches={"pink_block": frozenset({"drawer"})})
    assert P.task_success("place_in_drawer", holding, in_drawer)
    assert not P.task_success("place_in_slider", holding, in_drawer)
    assert not P.task_success("place_in_drawer", start, in_drawer)  # nothing was held at the start
    on_red = start.pos["red_block"] + [0, 0, 0.045]
    stacked = info(pos={"pink_block": on_red}, touches={"pink_block": frozenset({"red_block"}),
                                                        "red_block": frozenset({"table", "pink_block"})})
    assert stacked.locations["pink_block"] == "stacked_top" and stacked.locations["red_block"] == "stacked_bottom"
    assert P.task_success("stack_block", holding, stacked)
    assert P.task_success("unstack_block", stacked, start)
    assert not P.task_success("unstack_block", stacked, stacked)
    assert P.task_success("push_into_drawer", start, in_drawer)


def test_fixture_and_light_predicates():
    start = info()
    assert P.task_success("open_drawer", start, info(drawer=0.14))
    assert not P.task_success("open_drawer", start, info(drawer=0.05))
    assert P.task_success("close_drawer", info(drawer=0.15), info(drawer=0.01))
    assert P.task_success("move_slider_left", start, info(slider=0.2))
    assert not P.task_success("move_slider_right", start, info(slider=0.2))
    assert P.task_success("turn_on_led", start, info(led=1))
    assert not P.task_success("turn_off_led", start, info(led=1))
    assert P.task_success("turn_off_lightbulb", info(lightbulb=1), start)
    with pytest.raises(ValueError, match="unknown CALVIN task"):
        P.task_success("fly", start, start)


# ---- the env ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def env():
    e = CalvinEnv("D")
    yield e
    e.close()


def test_every_layout_builds_and_differs():
    from sim.envs.calvin.scene import load_model

    places = set()
    for name in C.LAYOUTS:
        m = load_model(name)
        d = mujoco.MjData(m)
        mujoco.mj_forward(m, d)
        places.add((round(float(d.body("drawer").xpos[1]), 3), round(float(d.body("button").xpos[1]), 3)))
    assert len(places) >= 2
    with pytest.raises(ValueError, match="unknown CALVIN layout"):
        C.check_layout("Z")


def test_reset_builds_every_start_state_as_asked(env):
    for i, s in enumerate(T.start_states()[::7]):
        env.reset(i, start=dict(s))
        assert env.symbolic_state() == dict(s)


def test_reset_and_observation_contract(env):
    start = dict(T.start_states()[5])
    obs = env.reset(3, "calvin/open_drawer", start={**start, "drawer": "closed"})
    assert obs.keypoints.shape == (len(KEYPOINT_NAMES), 3) and np.isfinite(obs.keypoints).all()
    assert obs.task == "pull the handle to open the drawer" and not env.success()
    assert env.ground_truth_plan()[0].kind == "open"
    with pytest.raises(ValueError, match="8-D"):
        env.step(np.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        env.step(np.full(8, np.nan))
    with pytest.raises(ValueError, match="not a valid CALVIN start"):
        env.reset(0, start={**start, "grasped": 1})


def test_pressing_the_button_toggles_the_led_once_per_press(env):
    start = {**dict(T.start_states()[0]), "led": 0}
    env.reset(0, "turn_on_led", start=start)
    adr = env.model.joint("button_joint").qposadr[0]
    hold = np.concatenate([env.robot.ee_base(env.data)[0], [0, 1, 0, 0], [0]])
    for pressed, expect in ((True, 1), (False, 1), (False, 1), (True, 0), (True, 1)):
        if pressed:  # pushed all the way down; the spring brings it back up within the step
            env.data.qpos[adr] = C.BUTTON_TRAVEL
        env.step(hold)
        assert env.led == expect and env.data.qpos[adr] < C.BUTTON_TRAVEL / 2
    assert env.success()  # turned on from off, judged from the scene at the task's start


def test_state_round_trip_replays_bit_exactly(env):
    env.reset(11, "calvin/move_slider_left", start={**dict(T.start_states()[3]), "slider": "right"})
    a = np.concatenate([env.robot.ee_base(env.data)[0] + [0.02, 0, -0.05], [0, 1, 0, 0], [1]])
    env.step(a)
    saved = EnvState.from_dict(env.get_state().to_dict())
    first = [env.step(a).keypoints for _ in range(3)]
    env.reset_to(saved)
    again = [env.step(a).keypoints for _ in range(3)]
    assert all(np.array_equal(x, y) for x, y in zip(first, again))


def test_a_scene_that_no_longer_matches_the_chain_still_gets_a_plan():
    s = dict(T.start_states()[0])  # nothing stacked, nothing held
    assert T.subtask_for("unstack_block", s).kind == "unstack"
    assert T.subtask_for("place_in_drawer", s).dest == "drawer"
    with pytest.raises(ValueError, match="unknown CALVIN task"):
        T.subtask_for("juggle", s)
