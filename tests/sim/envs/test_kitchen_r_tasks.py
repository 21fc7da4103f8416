"""kitchen_r instruction set: counts, categories, split disjointness, ground-truth plans."""

import pytest

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r.tasks import CATEGORIES, Goal, all_tasks, plan_steps, task_by_instruction, tasks_for


def test_at_least_500_distinct_instructions_and_every_category_in_both_splits():
    tasks = all_tasks()
    texts = [t.instruction for t in tasks]
    assert len(set(texts)) == len(texts) >= 500
    for cat in CATEGORIES:
        assert tasks_for("train", cat) and tasks_for("test", cat), cat
    assert len({t.task_id for t in tasks}) == len(tasks)


def test_splits_are_disjoint_and_test_holds_unseen_compositions():
    train = tasks_for("train")
    test = tasks_for("test")
    assert not {t.instruction.lower() for t in train} & {t.instruction.lower() for t in test}
    comps = lambda ts: {(C.OBJECT_BY_NAME[g.target].kind, g.dest) for t in ts if t.category == "pick_place"  # noqa: E731
                        for g in t.goals}
    unseen = comps(test) - comps(train)
    assert len(unseen) >= 10  # object-kind/destination pairs never trained on


def test_generation_is_deterministic():
    all_tasks.cache_clear()
    first = [(t.task_id, t.instruction, t.split) for t in all_tasks()]
    all_tasks.cache_clear()
    assert first == [(t.task_id, t.instruction, t.split) for t in all_tasks()]


def test_ground_truth_plan_expands_goals_and_collapses_navigation():
    goals = (Goal("on", "red_mug", "table"), Goal("fixture", "microwave", active=True))
    steps = plan_steps(goals, {"red_mug": "counter"})
    assert [(s.kind, s.target) for s in steps] == [
        ("navigate", "counter"), ("pick", "red_mug"), ("navigate", "table"), ("place", "red_mug"),
        ("navigate", "microwave"), ("open", "microwave")]
    # a fixture is driven to at its own dock, so two fixtures at the stove get a navigation each
    steps = plan_steps((Goal("fixture", "light", active=True), Goal("fixture", "microwave", active=False)), {})
    assert [(s.kind, s.target) for s in steps] == [("navigate", "light"), ("switch_on", "light"),
                                                   ("navigate", "microwave"), ("close", "microwave")]


def test_lookup_errors_are_clear():
    with pytest.raises(ValueError, match="not a kitchen_r instruction"):
        task_by_instruction("dance a jig")
    with pytest.raises(ValueError, match="unknown split"):
        tasks_for("validation")
