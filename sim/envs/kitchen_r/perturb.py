"""kitchen_r's perturbed split (VLS): pick-and-place scenes changed in ways the demonstrations
never showed, with success predicates that also fail on what the change makes easy to break.

Variants (one per episode, drawn on top of the episode's ordinary layout from a separate
stream, so perturbed and unperturbed episodes of one seed share everything else):

- ``obstacle``: a fixed obstacle (a hanging lamp, a sphere) on the straight way the demonstrations
  take from where the hand starts a pick to above the object, which is moved out to the side so the
  way there is long enough to go round. Touching the obstacle, with anything, fails the episode.
- ``shifted``: the object stands further to the side than any demonstration put it
  (lateral 0.34–0.40 m from the dock instead of ≤ 0.28 m).
- ``clutter``: three more objects packed around the object to pick (2–5 cm between
  footprints instead of at least 6 cm); knocking any of them 3 cm out of place fails it.

Pure functions of (layout, task, rng) like ``layout.py``; the env applies and checks them.
"""

from __future__ import annotations

import numpy as np

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r.layout import Layout, Placement, area_to_world, footprint
from sim.envs.kitchen_r.tasks import Task

VARIANTS = ("obstacle", "shifted", "clutter")
OBSTACLE_RADIUS = 0.045  # m
HAND_HOME = (0.55, 0.45)  # the HOME-pose hand at a dock: forward of the base centre, height above the surface (m)
OBSTACLE_BACK = 0.20  # m from the object back toward the hand's start: clear of the hand over the object
OBSTACLE_HEIGHT = 0.34  # m above the surface: where the demonstrated way passes there
OBSTACLE_TARGET = ((0.70, 0.76), (0.26, 0.30))  # forward, |lateral| of the object (m): a ≥ 0.3 m way round
SHIFTED = ((0.62, 0.72), (0.34, 0.40))  # forward, |lateral| (m); demonstrations stay within |lateral| ≤ 0.28
CLUTTER = 3  # extra objects
CLUTTER_GAP = (0.02, 0.05)  # m between footprints (layouts keep ≥ 0.06)
KNOCKED = 0.03  # m: a watched object moved this far was knocked


def picked_object(task: Task) -> str:
    """The object the (first) pick-and-place goal moves."""
    for g in task.goals:
        if g.kind in ("on", "in"):
            return g.target
    raise ValueError(f"task {task.task_id} has no pick-and-place goal to perturb")


def _occupied(layout: Layout, surface: str, skip: str) -> list[tuple[float, float, float]]:
    return [(p.x, p.y, footprint(n)) for n, p in layout.objects.items() if p.surface == surface and n != skip]


def _move_to_band(layout: Layout, name: str, band, rng: np.random.Generator, keep: set[str],
                  tries: int = 400) -> None:
    """Re-place ``name`` on its surface inside (forward, |lateral|) ``band``, clear of the others
    (distractors in the way are taken away when no spot is clear; ``keep``: never those)."""
    p = layout.objects[name]
    area = C.SURFACE_BY_NAME[p.surface].area
    others = _occupied(layout, p.surface, name)
    (f0, f1), (l0, l1) = band
    for _ in range(tries):
        lat = float(rng.uniform(l0, l1)) * (1 if rng.random() < 0.5 else -1)
        x, y = area_to_world(area, float(rng.uniform(f0, f1)), lat)
        if all(np.hypot(x - ox, y - oy) > footprint(name) + r + 0.03 for ox, oy, r in others):
            layout.objects[name] = Placement(p.surface, float(x), float(y), p.yaw)
            return
    # the others crowd that band: clear them off this surface's band instead of failing the draw
    x, y = area_to_world(area, float(np.mean(band[0])), float(np.mean(band[1])))
    for n, q in list(layout.objects.items()):
        if n not in keep and q.surface == p.surface and np.hypot(q.x - x, q.y - y) < footprint(n) + footprint(name) + 0.03:
            del layout.objects[n]
    layout.objects[name] = Placement(p.surface, float(x), float(y), p.yaw)


def perturb_layout(layout: Layout, task: Task, variant: str, rng: np.random.Generator) -> Layout:
    """``layout`` with ``variant`` applied (in place, and returned)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown perturbation {variant!r}; choose from {', '.join(VARIANTS)}")
    name = picked_object(task)
    keep = {name} | {g.dest for g in task.goals if g.dest} | {g.target for g in task.goals}
    layout.variant = variant
    if variant == "shifted":
        _move_to_band(layout, name, SHIFTED, rng, keep)
    elif variant == "obstacle":
        _move_to_band(layout, name, OBSTACLE_TARGET, rng, keep)
        p = layout.objects[name]
        s = C.SURFACE_BY_NAME[p.surface]
        hand = np.array(area_to_world(s.area, HAND_HOME[0], 0.0))
        obj = np.array([p.x, p.y])
        xy = obj + OBSTACLE_BACK * (hand - obj) / np.linalg.norm(hand - obj)
        layout.obstacle = (float(xy[0]), float(xy[1]), s.height + OBSTACLE_HEIGHT, OBSTACLE_RADIUS)
    else:
        _add_clutter(layout, name, rng)
    return layout


def _add_clutter(layout: Layout, name: str, rng: np.random.Generator) -> None:
    p = layout.objects[name]
    s = C.SURFACE_BY_NAME[p.surface]
    spare = [o.name for o in C.OBJECTS if o.name not in layout.objects]
    watched = {}
    for extra in rng.permutation(spare):
        if len(watched) == CLUTTER:
            break
        for _ in range(60):
            a = rng.uniform(-np.pi, np.pi)
            r = footprint(name) + footprint(str(extra)) + rng.uniform(*CLUTTER_GAP)
            x, y = p.x + r * np.cos(a), p.y + r * np.sin(a)
            inside = abs(x - s.center[0]) < s.half[0] - 0.05 and abs(y - s.center[1]) < s.half[1] - 0.05
            clear = all(np.hypot(x - q.x, y - q.y) > footprint(str(extra)) + footprint(n) + CLUTTER_GAP[0] - 1e-6
                        for n, q in layout.objects.items() if q.surface == p.surface)
            if inside and clear:
                layout.objects[str(extra)] = Placement(p.surface, float(x), float(y), float(rng.uniform(-np.pi, np.pi)))
                watched[str(extra)] = (float(x), float(y))
                break
    layout.watch = watched


__all__ = ["VARIANTS", "perturb_layout", "picked_object", "KNOCKED", "OBSTACLE_RADIUS"]
