"""A structured subtask: the unit of a ground-truth plan (what the oracle and experts speak)."""

from __future__ import annotations

from dataclasses import dataclass

SUBTASK_KINDS = ("navigate", "pick", "place", "open", "close", "turn_on", "turn_off", "switch_on", "switch_off",
                 # CALVIN's table-top primitives (sim/envs/calvin/tasks.py)
                 "rotate_left", "rotate_right", "push_left", "push_right", "slide_left", "slide_right",
                 "push_into", "stack", "unstack")


@dataclass(frozen=True)
class Subtask:
    """``kind`` from SUBTASK_KINDS; ``target`` an area/object/fixture name; ``dest`` for place."""

    kind: str
    target: str
    dest: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in SUBTASK_KINDS:
            raise ValueError(f"unknown subtask kind {self.kind!r}; expected one of {SUBTASK_KINDS}")
        if (self.kind == "place") != (self.dest is not None):
            raise ValueError("a place subtask needs a dest, and only a place subtask has one")

    def text(self) -> str:
        """Plain words, e.g. 'place the red mug on the table'."""
        name = lambda n: n.replace("_", " ")  # noqa: E731
        if self.kind == "navigate":
            return f"navigate to the {name(self.target)}"
        if self.kind == "place":
            prep = "in" if any(w in self.dest for w in ("bowl", "drawer", "slider")) else "on"
            return f"place the {name(self.target)} {prep} the {name(self.dest)}"
        if self.kind in ("rotate_left", "rotate_right", "push_left", "push_right", "slide_left", "slide_right"):
            verb, side = self.kind.split("_")
            return f"{verb} the {name(self.target)} {side}"
        if self.kind == "push_into":
            return f"push the {name(self.target)} into the drawer"
        return f"{name(self.kind)} the {name(self.target)}"
