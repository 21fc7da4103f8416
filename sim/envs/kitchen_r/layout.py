"""Seeded initial states: where the base starts, which objects stand on which surface,
and how open each fixture is. Pure functions of (task, rng) — no simulator access."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r.tasks import Task

# placement region in the area's base frame: forward distance and lateral offset (m)
FORWARD = (0.64, 0.76)
LATERAL = (-0.28, 0.28)
CLEARANCE = 0.06  # free gap between footprints: room for the hand to set things down

FIXTURE_VALUES = {  # joint value for (inactive, active)
    "door": (0.0, -0.7),
    "drawer": (0.0, 0.36),
    "knob": (0.0, -1.2),
    "switch": (0.0, -0.6),
}


@dataclass
class Placement:
    surface: str
    x: float
    y: float
    yaw: float


@dataclass
class Layout:
    base: tuple[float, float, float]
    objects: dict[str, Placement] = field(default_factory=dict)  # objects and receptacles
    fixtures: dict[str, float] = field(default_factory=dict)  # fixture name -> joint value
    # the perturbed split (perturb.py): which variant, the obstacle sphere (x, y, z, r) and the
    # objects whose start (x, y) must not be knocked
    variant: str | None = None
    obstacle: tuple[float, float, float, float] | None = None
    watch: dict[str, tuple[float, float]] = field(default_factory=dict)

    def area_of(self, name: str) -> str:
        return C.SURFACE_BY_NAME[self.objects[name].surface].area

    def where(self) -> dict[str, str]:
        return {n: self.area_of(n) for n in self.objects}

    def to_dict(self) -> dict:
        d = {"base": list(self.base), "fixtures": dict(self.fixtures),
             "objects": {n: [p.surface, p.x, p.y, p.yaw] for n, p in self.objects.items()}}
        if self.variant is not None:
            d.update(variant=self.variant, obstacle=list(self.obstacle) if self.obstacle else None,
                     watch={n: list(xy) for n, xy in self.watch.items()})
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Layout":
        return cls(tuple(d["base"]), {n: Placement(s, x, y, w) for n, (s, x, y, w) in d["objects"].items()},
                   dict(d["fixtures"]), d.get("variant"), tuple(d["obstacle"]) if d.get("obstacle") else None,
                   {n: tuple(xy) for n, xy in (d.get("watch") or {}).items()})


def footprint(name: str) -> float:
    if name in C.RECEPTACLE_BY_NAME:
        return C.RECEPTACLE_BY_NAME[name].radius
    return C.OBJECT_BY_NAME[name].size[0] * (1.4 if C.OBJECT_BY_NAME[name].shape == "box" else 1.0) + 0.015


def area_to_world(area: str, forward: float, lateral: float) -> tuple[float, float]:
    ax, ay, ayaw = C.AREA_BY_NAME[area].pose
    c, s = np.cos(ayaw), np.sin(ayaw)
    return ax + c * forward - s * lateral, ay + s * forward + c * lateral


def free_spot(surface: str, radius: float, occupied: list[tuple[float, float, float]],
              rng: np.random.Generator, tries: int = 200) -> tuple[float, float] | None:
    """A point on ``surface`` (in reach from its area pose) clear of ``occupied`` (x, y, r)."""
    area = C.SURFACE_BY_NAME[surface].area
    for _ in range(tries):
        f, l_ = rng.uniform(*FORWARD), rng.uniform(*LATERAL)
        x, y = area_to_world(area, f, l_)
        if all(np.hypot(x - ox, y - oy) > radius + r + CLEARANCE for ox, oy, r in occupied):
            return float(x), float(y)
    return None


def roomiest_spot(surface: str, radius: float, occupied: list[tuple[float, float, float]],
                  rng: np.random.Generator, tries: int = 400) -> tuple[float, float]:
    """The sampled point on ``surface`` with the widest gap to ``occupied``: for a crowded surface."""
    area = C.SURFACE_BY_NAME[surface].area
    best, best_gap = None, -np.inf
    for _ in range(tries):
        x, y = area_to_world(area, rng.uniform(*FORWARD), rng.uniform(*LATERAL))
        gap = min((np.hypot(x - ox, y - oy) - radius - r for ox, oy, r in occupied), default=np.inf)
        if gap > best_gap:
            best, best_gap = (float(x), float(y)), gap
    return best


class _Crowded(Exception):
    pass


def sample_layout(task: Task, rng: np.random.Generator, attempts: int = 20) -> Layout:
    """Task objects start away from their destination; 2–3 distractor objects and one
    distractor receptacle; fixtures start opposite to what the task asks. A draw that
    crowds a surface is redrawn from the same stream (deterministic for the seed)."""
    for _ in range(attempts):
        try:
            return _draw_layout(task, rng)
        except _Crowded:
            continue
    raise RuntimeError(f"no uncrowded layout for {task.task_id} in {attempts} draws")


def _draw_layout(task: Task, rng: np.random.Generator) -> Layout:
    base = (float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.8, 0.2)), float(rng.uniform(-np.pi, np.pi)))
    layout = Layout(base)
    surfaces = [s.name for s in C.SURFACES]
    avoid: dict[str, set[str]] = {}  # name -> surfaces it must not start on
    needed: list[str] = []
    for g in task.goals:
        if g.kind == "on":
            needed.append(g.target)
            avoid.setdefault(g.target, set()).add(g.dest)
        elif g.kind == "in":
            needed += [g.dest, g.target]
    # objects going into a receptacle start on another surface than the receptacle
    others = [o.name for o in C.OBJECTS if o.name not in needed]
    recs = [r.name for r in C.RECEPTACLES if r.name not in needed]
    distractors = list(rng.choice(others, size=int(rng.integers(2, 4)), replace=False))
    distractors.append(str(rng.choice(recs)))
    occupied: dict[str, list[tuple[float, float, float]]] = {s: [] for s in surfaces}
    rec_surface: dict[str, str] = {}
    for name in needed + distractors:
        if name in layout.objects:
            continue
        banned = set(avoid.get(name, ()))
        for g in task.goals:
            if g.kind == "in" and g.target == name and g.dest in rec_surface:
                banned.add(rec_surface[g.dest])
            if g.kind == "in" and g.dest == name:
                banned |= {layout.objects[g.target].surface} if g.target in layout.objects else set()
        choices = [s for s in surfaces if s not in banned] or surfaces
        for s in rng.permutation(choices):
            spot = free_spot(str(s), footprint(name), occupied[str(s)], rng)
            if spot is not None:
                occupied[str(s)].append((spot[0], spot[1], footprint(name)))
                layout.objects[name] = Placement(str(s), spot[0], spot[1], float(rng.uniform(-np.pi, np.pi)))
                if name in C.RECEPTACLE_BY_NAME:
                    rec_surface[name] = str(s)
                break
        else:  # rare: 4+ objects drawn onto one surface
            raise _Crowded(name)
    wanted = {g.target: g.active for g in task.goals if g.kind == "fixture"}
    for f in C.ALL_FIXTURES:
        inactive, active = FIXTURE_VALUES[f.kind]
        state = (not wanted[f.name]) if f.name in wanted else bool(rng.random() < 0.25)
        layout.fixtures[f.name] = active if state else inactive
    return layout
