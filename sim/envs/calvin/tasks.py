"""CALVIN's 34 tasks, their language, and the long-horizon protocol's instruction chains.

The task names, categories, symbolic preconditions/effects and the chain rules follow
CALVIN's evaluation (calvin_agent/evaluation/multistep_sequences.py): a symbolic scene state
(where each block is, door and drawer positions, the two lights, whether a block is held), 1000
five-task chains drawn with a fixed seed from every valid start state, and no two tasks of one
category in a chain. The draw is ours (numpy's PCG64), so the chains are CALVIN-style, not
CALVIN's own list.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from sim.envs.calvin import catalog as C
from vla_core.plans.subtask import Subtask

MAX_STEPS = 360  # per subtask, as in CALVIN
CHAIN_LEN = 5
NUM_CHAINS = 1000
CHAIN_SEED = 0

SYMBOLS = ("led", "lightbulb", "slider", "drawer", *(b.name for b in C.BLOCKS), "grasped")
State = dict  # symbol -> value: led/lightbulb 0|1, slider 'left'|'right' (where the door is),
# drawer 'open'|'closed', <block> 'table'|'slider_left'|'slider_right'|'drawer'|'grasped'|
# 'stacked_top'|'stacked_bottom', grasped 0|1

# task name -> category; no two tasks of one category in a chain (CALVIN's 12 groups)
CATEGORIES: dict[str, str] = {}
for _c in C.COLORS:
    for _side in ("left", "right"):
        CATEGORIES[f"rotate_{_c}_block_{_side}"] = "rotate_push"
        CATEGORIES[f"push_{_c}_block_{_side}"] = "rotate_push"
CATEGORIES.update({"move_slider_left": "slider", "move_slider_right": "slider", "open_drawer": "drawer",
                   "close_drawer": "drawer"})
for _c in C.COLORS:
    for _src in ("table", "slider", "drawer"):
        CATEGORIES[f"lift_{_c}_block_{_src}"] = f"lift_{_src}"
CATEGORIES.update({"place_in_slider": "place", "place_in_drawer": "place", "turn_on_lightbulb": "lightbulb",
                   "turn_off_lightbulb": "lightbulb", "turn_on_led": "led", "turn_off_led": "led",
                   "push_into_drawer": "push_into_drawer", "stack_block": "stack", "unstack_block": "unstack"})
TASK_NAMES: tuple[str, ...] = tuple(CATEGORIES)

# (the annotation evaluation uses, as CALVIN fixes one per task; further ones for training)
_ANNOTATIONS: dict[str, tuple[str, ...]] = {
    "rotate_{c}_block_right": ("take the {c} block and rotate it to the right", "rotate the {c} block to the right",
                               "turn the {c} block clockwise"),
    "rotate_{c}_block_left": ("take the {c} block and rotate it to the left", "rotate the {c} block to the left",
                              "turn the {c} block counterclockwise"),
    "push_{c}_block_right": ("go push the {c} block right", "push the {c} block to the right",
                             "slide the {c} block towards the right"),
    "push_{c}_block_left": ("go push the {c} block left", "push the {c} block to the left",
                            "slide the {c} block towards the left"),
    "lift_{c}_block_table": ("pick up the {c} block from the table", "grasp and lift the {c} block",
                             "lift the {c} block off the table"),
    "lift_{c}_block_slider": ("lift the {c} block from the sliding cabinet", "pick up the {c} block in the cabinet",
                              "take the {c} block out of the sliding cabinet"),
    "lift_{c}_block_drawer": ("take the {c} block from the drawer", "pick up the {c} block in the drawer",
                              "lift the {c} block out of the drawer"),
}
ANNOTATIONS: dict[str, tuple[str, ...]] = {
    name.format(c=c): tuple(t.format(c=c) for t in texts) for name, texts in _ANNOTATIONS.items() for c in C.COLORS
}
ANNOTATIONS.update({
    "move_slider_left": ("push the sliding door to the left side", "slide the door to the left",
                         "move the sliding door left"),
    "move_slider_right": ("push the sliding door to the right side", "slide the door to the right",
                          "move the sliding door right"),
    "open_drawer": ("pull the handle to open the drawer", "open the drawer", "pull the drawer open"),
    "close_drawer": ("push the handle to close the drawer", "close the drawer", "push the drawer shut"),
    "place_in_slider": ("store the grasped block in the sliding cabinet", "put the block in the sliding cabinet",
                        "place the block you hold in the cabinet"),
    "place_in_drawer": ("store the grasped block in the drawer", "put the block in the drawer",
                        "place the block you hold in the drawer"),
    "push_into_drawer": ("slide the block so that it falls into the drawer", "push the block into the drawer",
                         "sweep the block off the table into the drawer"),
    "stack_block": ("stack the grasped block", "put the block you hold on top of another block",
                    "place the block on the other block"),
    "unstack_block": ("remove the stacked block", "take the top block off the stack", "unstack the blocks"),
    "turn_on_lightbulb": ("use the switch to turn on the light bulb", "move the switch up to light the bulb",
                          "turn on the light bulb"),
    "turn_off_lightbulb": ("use the switch to turn off the light bulb", "move the switch down to turn off the bulb",
                           "turn off the light bulb"),
    "turn_on_led": ("press the button to turn on the led light", "turn on the green light", "switch the led on"),
    "turn_off_led": ("press the button to turn off the led light", "turn off the green light", "switch the led off"),
})
assert set(ANNOTATIONS) == set(TASK_NAMES) and len(TASK_NAMES) == 34


@dataclass(frozen=True)
class CalvinTask:
    """One CALVIN task as our bench protocol sees it (kitchen_r's Task fields)."""

    name: str  # 'open_drawer'

    @property
    def task_id(self) -> str:
        return f"calvin/{self.name}"

    @property
    def instruction(self) -> str:
        return ANNOTATIONS[self.name][0]

    @property
    def category(self) -> str:
        return CATEGORIES[self.name]

    @property
    def split(self) -> str:
        return "calvin"

    @property
    def goals(self) -> tuple[str, ...]:
        return (self.name,)

    @property
    def max_steps(self) -> int:
        return MAX_STEPS


def task_by_id(task_id: str) -> CalvinTask:
    name = task_id.split("/", 1)[1] if task_id.startswith("calvin/") else task_id
    if name not in CATEGORIES:
        raise ValueError(f"unknown CALVIN task {task_id!r}; e.g. calvin/open_drawer (see --list)")
    return CalvinTask(name)


def all_tasks() -> list[CalvinTask]:
    return [CalvinTask(n) for n in TASK_NAMES]


# ---- symbolic preconditions and effects ---------------------------------------------------
Rule = tuple[dict, dict]  # (condition, effect)


@functools.lru_cache(maxsize=1)
def rules() -> dict[str, tuple[Rule, ...]]:
    """task -> the (condition, effect) alternatives it has; a task applies when one condition holds."""
    blocks = [b.name for b in C.BLOCKS]
    out: dict[str, list[Rule]] = {n: [] for n in TASK_NAMES}
    for b, c in zip(blocks, C.COLORS):
        for side in ("left", "right"):
            out[f"rotate_{c}_block_{side}"].append(({b: "table", "grasped": 0}, {b: "table"}))
            out[f"push_{c}_block_{side}"].append(({b: "table", "grasped": 0}, {b: "table"}))
        held = {b: "grasped", "grasped": 1}
        out[f"lift_{c}_block_table"].append(({b: "table", "grasped": 0}, held))
        # a bay is reachable while the door stands over the other one
        out[f"lift_{c}_block_slider"].append(({b: "slider_left", "slider": "right", "grasped": 0}, held))
        out[f"lift_{c}_block_slider"].append(({b: "slider_right", "slider": "left", "grasped": 0}, held))
        out[f"lift_{c}_block_drawer"].append(({b: "drawer", "drawer": "open", "grasped": 0}, held))
        out["place_in_slider"].append(({b: "grasped", "slider": "right"}, {b: "slider_left", "grasped": 0}))
        out["place_in_slider"].append(({b: "grasped", "slider": "left"}, {b: "slider_right", "grasped": 0}))
        out["place_in_drawer"].append(({b: "grasped", "drawer": "open"}, {b: "drawer", "grasped": 0}))
        out["push_into_drawer"].append(({b: "table", "drawer": "open", "grasped": 0}, {b: "drawer"}))
        for o in blocks:
            if o != b:
                out["stack_block"].append(({b: "grasped", o: "table"}, {b: "stacked_top", o: "stacked_bottom", "grasped": 0}))
                out["unstack_block"].append(({b: "stacked_top", o: "stacked_bottom", "grasped": 0}, {b: "table", o: "table"}))
    out["move_slider_left"].append(({"slider": "right", "grasped": 0}, {"slider": "left"}))
    out["move_slider_right"].append(({"slider": "left", "grasped": 0}, {"slider": "right"}))
    out["open_drawer"].append(({"drawer": "closed", "grasped": 0}, {"drawer": "open"}))
    out["close_drawer"].append(({"drawer": "open", "grasped": 0}, {"drawer": "closed"}))
    out["turn_on_lightbulb"].append(({"lightbulb": 0, "grasped": 0}, {"lightbulb": 1}))
    out["turn_off_lightbulb"].append(({"lightbulb": 1, "grasped": 0}, {"lightbulb": 0}))
    out["turn_on_led"].append(({"led": 0, "grasped": 0}, {"led": 1}))
    out["turn_off_led"].append(({"led": 1, "grasped": 0}, {"led": 0}))
    return {k: tuple(v) for k, v in out.items()}


def holds(state: State, condition: dict) -> bool:
    return all(state.get(k) == v for k, v in condition.items())


def applicable(state: State, task: str) -> dict | None:
    """The effect ``task`` has from ``state``, or None when none of its conditions holds."""
    for cond, effect in rules()[task]:
        if holds(state, cond):
            return effect
    return None


def apply(state: State, task: str) -> State:
    effect = applicable(state, task)
    if effect is None:
        raise ValueError(f"{task} does not apply in {state}")
    return {**state, **effect}


def valid_start(state: State) -> bool:
    """CALVIN's start states: nothing held or stacked, one or two blocks on the table, the rest
    in the cabinet with at most one block per bay."""
    locs = [state[b.name] for b in C.BLOCKS]
    return (set(state) == set(SYMBOLS) and state["grasped"] == 0 and set(locs) <= {"table", "slider_left", "slider_right"}
            and locs.count("table") in (1, 2) and locs.count("slider_left") < 2 and locs.count("slider_right") < 2)


@functools.lru_cache(maxsize=1)
def start_states() -> tuple[tuple, ...]:
    """Every valid start state as a sorted item tuple (hashable), in a fixed order."""
    values = {"led": (0, 1), "lightbulb": (0, 1), "slider": ("right", "left"), "drawer": ("closed", "open")}
    values.update({b.name: ("table", "slider_right", "slider_left") for b in C.BLOCKS})
    values["grasped"] = (0,)
    keys = list(values)
    out = []
    for combo in itertools.product(*(values[k] for k in keys)):
        s = dict(zip(keys, combo))
        if valid_start(s):
            out.append(tuple(sorted(s.items())))
    return tuple(out)


@dataclass(frozen=True)
class Chain:
    """One evaluation sequence: a start state and five instructions that apply one after another."""

    index: int
    start: tuple  # sorted (symbol, value) items
    tasks: tuple[str, ...]

    @property
    def start_state(self) -> State:
        return dict(self.start)

    def to_dict(self) -> dict:
        return {"index": self.index, "start": self.start_state, "tasks": list(self.tasks)}


def _draw_chain(state: State, rng: np.random.Generator) -> tuple[str, ...] | None:
    seq: list[str] = []
    used: set[str] = set()
    for _ in range(CHAIN_LEN):
        options = [t for t in TASK_NAMES if CATEGORIES[t] not in used and applicable(state, t) is not None]
        if not options:
            return None
        t = options[int(rng.integers(len(options)))]
        seq.append(t)
        used.add(CATEGORIES[t])
        state = apply(state, t)
    return tuple(seq)


@functools.lru_cache(maxsize=4)
def chains(n: int = NUM_CHAINS, seed: int = CHAIN_SEED) -> tuple[Chain, ...]:
    """``n`` chains spread evenly over the start states (CALVIN's split), each drawn until it
    reaches five tasks, then shuffled; the same list for the same (n, seed) everywhere."""
    starts = start_states()
    rng = np.random.default_rng(seed)
    per_state = [len(a) for a in np.array_split(np.arange(n), len(starts))]
    out: list[tuple[tuple, tuple[str, ...]]] = []
    for start, k in zip(starts, per_state):
        got = 0
        while got < k:
            seq = _draw_chain(dict(start), rng)
            if seq is not None:
                out.append((start, seq))
                got += 1
    order = rng.permutation(len(out))
    return tuple(Chain(i, out[j][0], out[j][1]) for i, j in enumerate(order))


def training_chain(i: int, seed: int) -> Chain:
    """Chain ``i`` of a training collection (seeded by ``seed``, never the evaluation's CHAIN_SEED
    list): a start state chosen by ``i`` and five rule-abiding instructions from its own stream, so
    a collection extended later keeps the chains it had."""
    starts = start_states()
    start = starts[(i * 97) % len(starts)]  # 97 is prime to 192: consecutive chains start apart
    rng = np.random.default_rng([int(seed), int(i), 0xCA1])
    while True:
        seq = _draw_chain(dict(start), rng)
        if seq is not None:
            return Chain(i, start, seq)


def subtask_for(task: str, state: State) -> Subtask:
    """The ground-truth subtask for ``task`` in symbolic ``state`` (which block it moves). A scene
    that no longer matches the chain (a stack that fell over) still gets a subtask, naming the first
    block: the instruction then fails in the simulator instead of crashing the chain."""
    blocks = [b.name for b in C.BLOCKS]
    held = next((b for b in blocks if state.get(b) == "grasped"), blocks[0])
    if task.startswith(("rotate_", "push_")) and task != "push_into_drawer":
        verb, color, _, side = task.split("_")
        return Subtask(f"{verb}_{side}", f"{color}_block")
    if task.startswith("lift_"):
        return Subtask("pick", f"{task.split('_')[1]}_block")
    if task in ("move_slider_left", "move_slider_right"):
        return Subtask(f"slide_{task.rsplit('_', 1)[1]}", "slider")
    if task in ("open_drawer", "close_drawer"):
        return Subtask(task.split("_")[0], "drawer")
    if task in ("place_in_slider", "place_in_drawer"):
        return Subtask("place", held, dest=task.rsplit("_", 1)[1])
    if task == "stack_block":
        return Subtask("stack", held)
    if task == "unstack_block":
        return Subtask("unstack", next((b for b in blocks if state.get(b) == "stacked_top"), blocks[0]))
    if task == "push_into_drawer":  # the block whose rule applies first, as the chain assumes
        return Subtask("push_into", next((b for b in blocks if state.get(b) == "table"), blocks[0]))
    if task in ("turn_on_lightbulb", "turn_off_lightbulb"):
        return Subtask(f"switch_{task.split('_')[1]}", "lightbulb")
    if task in ("turn_on_led", "turn_off_led"):
        return Subtask(f"turn_{task.split('_')[1]}", "led")
    raise ValueError(f"unknown CALVIN task {task!r}")
