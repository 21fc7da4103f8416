"""kitchen_r's instructions: goals, categories, templates and the fixed train/test split.

A Task is an instruction plus the goals that define success (checked on simulator
state by ``predicates``). The ground-truth plan (ordered subtasks) depends on where
things stand at reset, so ``plan_steps`` expands goals against a layout.

Split: the test split holds object–destination compositions never seen in training
(any phrasing) and held-out paraphrase templates of the seen ones.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass

import numpy as np

from sim.envs.kitchen_r import catalog as C
from vla_core.plans.subtask import Subtask

# the subtask kinds that make a fixture of each kind active / inactive
FIXTURE_VERBS = {"door": ("open", "close"), "drawer": ("open", "close"), "knob": ("turn_on", "turn_off"),
                 "switch": ("switch_on", "switch_off")}
ACTIVATING = frozenset(on for on, _ in FIXTURE_VERBS.values())
CATEGORIES = ("navigate", "pick_place", "open_close", "knob", "light", "multi_step")
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Goal:
    """One condition on the final simulator state.

    kind: 'at' (target=area) | 'on' (target=object, dest=surface) | 'in' (target=object,
    dest=receptacle) | 'fixture' (target=fixture, active=open/on if True).
    """

    kind: str
    target: str
    dest: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class Task:
    task_id: str
    instruction: str
    category: str
    goals: tuple[Goal, ...]
    split: str

    @property
    def max_steps(self) -> int:
        """Step budget at 10 Hz; generous for the expert, shared by every policy."""
        budget = {"at": 150, "on": 450, "in": 450, "fixture": 350}
        return sum(budget[g.kind] for g in self.goals)


# ---- templates: (train templates, test templates) ------------------------------------
PICK_PLACE = (
    ("put the {obj} {prep} the {dest}", "move the {obj} to the {dest}",
     "pick up the {obj} and place it {prep} the {dest}", "take the {obj} over to the {dest}"),
    ("could you bring the {obj} to the {dest}", "grab the {obj} and set it down {prep} the {dest}"),
)
NAVIGATE = (
    ("go to the {area}", "drive over to the {area}", "navigate to the {area}", "head to the {area}"),
    ("could you move over to the {area}", "make your way to the {area}"),
)
FIXTURE_ON = {
    "door": (("open the {f}", "pull the {f} open", "please open the {f}"), ("swing the {f} open",)),
    "drawer": (("open the {f}", "slide the {f} open", "please open the {f}"), ("pull the {f} all the way open",)),
    "knob": (("turn on the {f}", "switch on the {f}", "light the {f}"), ("could you fire up the {f}",)),
    "switch": (("turn on the {f}", "switch the {f} on", "flip the {f} on"), ("could you put the {f} on",)),
}
FIXTURE_OFF = {
    "door": (("close the {f}", "shut the {f}", "push the {f} closed"), ("swing the {f} shut",)),
    "drawer": (("close the {f}", "slide the {f} shut", "push the {f} closed"), ("slide the {f} back shut",)),
    "knob": (("turn off the {f}", "switch off the {f}", "turn the {f} off"), ("could you kill the {f}",)),
    "switch": (("turn off the {f}", "switch the {f} off", "flip the {f} off"), ("could you put the {f} out",)),
}
COMBO_JOIN = (("{a}, then {b}", "first {a}, then {b}"), ("{a} and after that {b}",))
COMBO_JOIN3 = (("{a}, then {b}, then {c}", "first {a}, then {b}, and finally {c}"), ("{a}; next {b}; last {c}",))
COMBO_JOIN4 = (("{a}, then {b}, then {c}, then {d}",), ("first {a}, next {b}, then {c}, and finally {d}",))

MULTI_STEP_COUNT = 240  # sampled goal combinations (seeded)
TEST_COMPOSITION_FRACTION = 0.2


def _held_out(key: str, fraction: float) -> bool:
    """Deterministic, platform-independent coin (crc32) for split membership."""
    return (zlib.crc32(key.encode()) % 1000) < fraction * 1000


def _dest_phrases() -> list[tuple[str, str, str]]:
    """(dest name, dest words, preposition) for every placement destination."""
    out = [(s.name, w, "on") for s in C.SURFACES for w in s.words]
    out += [(r.name, r.words, "in" if r.kind == "bowl" else "on") for r in C.RECEPTACLES]
    return out


def _goal_phrase(goal: Goal, variant: int) -> str:
    """Short imperative for one goal, used inside multi-step instructions."""
    if goal.kind == "at":
        return NAVIGATE[0][variant % 2].format(area=C.AREA_BY_NAME[goal.target].words[0])
    if goal.kind in ("on", "in"):
        obj = C.OBJECT_BY_NAME[goal.target].words
        if goal.kind == "on":
            dest = C.SURFACE_BY_NAME[goal.dest].words[0]
            prep = "on"
        else:
            rec = C.RECEPTACLE_BY_NAME[goal.dest]
            dest, prep = rec.words, ("in" if rec.kind == "bowl" else "on")
        return PICK_PLACE[0][variant % 2].format(obj=obj, prep=prep, dest=dest)
    f = C.FIXTURE_BY_NAME[goal.target]
    table = FIXTURE_ON if goal.active else FIXTURE_OFF
    return table[f.kind][0][0].format(f=f.words[0])


def _single_goal_tasks() -> list[tuple[str, str, tuple[Goal, ...], str]]:
    """(category, instruction, goals, split) for every one-goal task."""
    rows = []
    for area in C.AREAS:
        for word in area.words:
            for split, temps in zip(SPLITS, NAVIGATE):
                rows += [("navigate", t.format(area=word), (Goal("at", area.name),), split) for t in temps]
    for obj in C.OBJECTS:
        for dest, words, prep in _dest_phrases():
            kind = "in" if dest in C.RECEPTACLE_BY_NAME else "on"
            goal = (Goal(kind, obj.name, dest),)
            unseen = _held_out(f"{obj.kind}|{dest}", TEST_COMPOSITION_FRACTION)
            for tsplit, temps in zip(SPLITS, PICK_PLACE):
                split = "test" if unseen else tsplit
                rows += [("pick_place", t.format(obj=obj.words, prep=prep, dest=words), goal, split) for t in temps]
    for f in C.ALL_FIXTURES:
        cat = {"knob": "knob", "switch": "light"}.get(f.kind, "open_close")
        for active, table in ((True, FIXTURE_ON), (False, FIXTURE_OFF)):
            for word in f.words:
                for split, temps in zip(SPLITS, table[f.kind]):
                    rows += [(cat, t.format(f=word), (Goal("fixture", f.name, active=active),), split) for t in temps]
    return rows


def _combo_goals(rng: np.random.Generator) -> tuple[Goal, ...]:
    """2–4 compatible goals: distinct objects and fixtures, at most one navigate (last)."""
    n = int(rng.integers(2, 5))
    goals: list[Goal] = []
    used: set[str] = set()
    while len(goals) < n:
        r = rng.random()
        if r < 0.5:
            obj = C.OBJECTS[rng.integers(len(C.OBJECTS))].name
            dests = [d for d, _, _ in _dest_phrases()]
            dest = dests[rng.integers(len(dests))]
            if obj in used or dest in used:
                continue
            kind = "in" if dest in C.RECEPTACLE_BY_NAME else "on"
            goals.append(Goal(kind, obj, dest))
            used.add(obj)
            if kind == "in":
                used.add(dest)
        else:
            f = C.ALL_FIXTURES[rng.integers(len(C.ALL_FIXTURES))]
            if f.name in used:
                continue
            goals.append(Goal("fixture", f.name, active=bool(rng.random() < 0.5)))
            used.add(f.name)
    if rng.random() < 0.2:  # end somewhere: "…, then go to the table"
        goals[-1] = Goal("at", C.AREAS[rng.integers(len(C.AREAS))].name)
    return tuple(goals)


def _multi_step_tasks() -> list[tuple[str, str, tuple[Goal, ...], str]]:
    rng = np.random.default_rng(20261124)
    rows, seen = [], set()
    joins = {2: COMBO_JOIN, 3: COMBO_JOIN3, 4: COMBO_JOIN4}
    while len(rows) < MULTI_STEP_COUNT:
        goals = _combo_goals(rng)
        if goals in seen:
            continue
        seen.add(goals)
        unseen = _held_out("|".join(f"{g.kind}:{g.target}:{g.dest}:{g.active}" for g in goals), 0.3)
        variant = int(rng.integers(2))
        train_t, test_t = joins[len(goals)]
        template = test_t[0] if unseen else train_t[variant % len(train_t)]
        phrases = [_goal_phrase(g, variant + i) for i, g in enumerate(goals)]
        text = template.format(**dict(zip("abcd", phrases)))
        rows.append(("multi_step", text, goals, "test" if unseen else "train"))
    return rows


@functools.lru_cache(maxsize=1)
def all_tasks() -> tuple[Task, ...]:
    """Every kitchen_r task, deterministic across runs and machines."""
    tasks, seen = [], set()
    for cat, text, goals, split in _single_goal_tasks() + _multi_step_tasks():
        text = text[0].upper() + text[1:]
        if text in seen:  # identical phrasing from two synonyms: keep the first
            continue
        seen.add(text)
        tasks.append(Task(f"{cat}/{len([t for t in tasks if t.category == cat]):04d}", text, cat, goals, split))
    return tuple(tasks)


def tasks_for(split: str | None = None, category: str | None = None) -> tuple[Task, ...]:
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    if category is not None and category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; choose from {', '.join(CATEGORIES)}")
    return tuple(t for t in all_tasks() if (split is None or t.split == split) and (category is None or t.category == category))


def task_by_instruction(text: str) -> Task:
    for t in all_tasks():
        if t.instruction.lower() == text.strip().lower():
            return t
    raise ValueError(f"not a kitchen_r instruction: {text!r} (see `sim/eval.py --bench kitchen_r --list`)")


def task_by_id(task_id: str) -> Task:
    for t in all_tasks():
        if t.task_id == task_id:
            return t
    raise ValueError(f"unknown kitchen_r task id {task_id!r}")


def plan_steps(goals: tuple[Goal, ...], where: dict[str, str]) -> list[Subtask]:
    """Ground-truth plan: goals expanded into subtasks, given ``where`` = object/receptacle
    name → area it stands in at reset. Consecutive navigations to one area collapse. A fixture is
    driven to at its own dock (one straight approach, never an area's pose and then a re-dock
    inside the fixture's subtask); each fixture gets its own navigation."""
    steps: list[Subtask] = []
    here = None

    def go(area: str) -> None:
        nonlocal here
        if area != here:
            steps.append(Subtask("navigate", area))
            here = area

    for g in goals:
        if g.kind == "at":
            go(g.target)
        elif g.kind in ("on", "in"):
            go(where[g.target])
            steps.append(Subtask("pick", g.target))
            dest_area = C.SURFACE_BY_NAME[g.dest].area if g.kind == "on" else where[g.dest]
            go(dest_area)
            steps.append(Subtask("place", g.target, g.dest))
        else:
            f = C.FIXTURE_BY_NAME[g.target]
            go(f.name)
            on, off = FIXTURE_VERBS[f.kind]
            steps.append(Subtask(on if g.active else off, g.target))
    return steps


__all__ = ["ACTIVATING", "FIXTURE_VERBS", "Goal", "Subtask", "Task", "CATEGORIES", "SPLITS", "all_tasks", "tasks_for", "task_by_instruction",
           "task_by_id", "plan_steps"]
