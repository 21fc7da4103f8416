"""Fine-grained sub-step instructions read from simulator state, along real expert episodes."""

import itertools

import pytest

from sim.envs import landmarks
from sim.envs.kitchen_r.env import KEYPOINT_NAMES
from sim.envs.kitchen_r.tasks import task_by_id
from sim.experts.policy import ExpertPolicy
from vla_core.planners import OraclePlanner
from vla_core.policies.grounding import ground, ground_landmark
from vla_core.runtime import RuntimeLoop


def said(env, task_id, seed):
    """Run the expert under the fine-grained oracle; (subtask, [sentences in order, repeats merged]) per subtask."""
    steps = []
    loop = RuntimeLoop(env, OraclePlanner(env, kind="instruction"), ExpertPolicy(env),
                       on_step=lambda ev: steps.append((ev.plan.plan.subtask, ev.plan.plan.text)))
    assert loop.run_episode(seed, task_by_id(task_id)).success
    return [(st, [t for t, _ in itertools.groupby(t for _, t in grp)])
            for st, grp in itertools.groupby(steps, key=lambda x: x[0])]


def in_order(seq, wanted):
    """``wanted`` appear in ``seq`` as a subsequence (flickers at boundaries are allowed)."""
    it = iter(seq)
    return all(any(w == s for s in it) for w in wanted)


def test_a_pick_and_place_goes_through_its_substeps(env):
    subtasks = said(env, "pick_place/1004", 0)
    kinds = [st.kind for st, _ in subtasks]
    assert kinds == ["navigate", "pick", "navigate", "place"]
    nav, pick, _, place = (s for _, s in subtasks)
    obj = subtasks[1][0].target.replace("_", " ")
    dest = subtasks[3][0].dest.replace("_", " ")
    assert nav == [f"drive to the {subtasks[0][0].target}"]
    assert in_order(pick, [f"move the gripper above the {obj}", f"lower the gripper onto the {obj}",
                           f"grasp the {obj}", f"lift the {obj}"])
    assert in_order(place, [f"carry the {obj} over the {dest}", f"release the {obj}"])
    assert any(s.startswith(f"lower the {obj} ") for s in place)


@pytest.mark.parametrize("task_id, grasped", [("open_close/0020", True), ("knob/0011", True), ("light/0014", False)])
def test_a_fixture_goes_through_its_substeps(env, task_id, grasped):
    from sim.envs.kitchen_r.substeps import FIXTURE_VERB

    (nav, nav_said), (st, seq) = said(env, task_id, 0)[-2:]
    f = st.target.replace("_", " ")
    verb, goal = FIXTURE_VERB[st.kind].format(f=f"the {f}"), FIXTURE_VERB[st.kind].format(f="it")
    # the navigation docks at the fixture itself, so its subtask starts at the handle
    assert nav.kind == "navigate" and nav.target == st.target and nav_said == [f"drive to the {f}"]
    # the reach and grasp name the goal: switching on and off start from opposite sides of the lever
    wanted = [f"reach for the {f} handle to {goal}"] + ([f"grasp the {f} handle to {goal}"] if grasped else [])
    assert in_order(seq, wanted + [verb])
    assert seq[-1] in (verb, f"release the {f} handle")  # the joint may reach its goal as the fingers leave
    assert (f"grasp the {f} handle to {goal}" in seq) == grasped  # the light switch is pushed with closed fingers


def test_every_sentence_grounds_like_its_subtask(env):
    """The fine-grained sentences name the subtask's keypoints, and its landmark where the subtask names one."""
    lms = landmarks("kitchen_r")
    # knob/0053 at seed 0 is one the expert fails: a finger brushes the knob, the IK re-seeds onto another
    # branch and the arm swings away (sim/envs/kitchen_r/robot.py solve); seed 1 goes through every sub-step
    for task_id, seed in (("pick_place/1004", 0), ("knob/0053", 1)):
        for st, seq in said(env, task_id, seed):
            want = ground(st.text(), KEYPOINT_NAMES)
            for s in seq:
                got = ground(s, KEYPOINT_NAMES)
                assert got[0] == want[0] or want[0] < 0, (s, st)
                if s.startswith("drive to"):
                    assert (ground_landmark(s, lms) == ground_landmark(st.text(), lms)).all(), s
