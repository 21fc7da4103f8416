"""Benchmark registry: name → env factory, task lookup and video cameras, or the reason a bench
is not available yet."""

from __future__ import annotations

AVAILABLE = ("kitchen_r", "libero", "calvin")
NOT_YET: dict[str, str] = {}
BENCHES = AVAILABLE + tuple(NOT_YET)
ACTION_DIM = {"kitchen_r": 10, "libero": 8, "calvin": 8}  # mobile (base + arm) vs fixed-base arm actions (vla_core.actions)
VIDEO_CAMERAS = {"kitchen_r": ("overview", "head"), "libero": ("agentview", "robot0_eye_in_hand"),
                 "calvin": ("static", "overhead")}


class BenchUnavailable(ValueError):
    pass


def _check(name: str) -> None:
    if name in NOT_YET:
        raise BenchUnavailable(f"bench {name!r} is not available: {NOT_YET[name]}")
    if name not in AVAILABLE:
        raise BenchUnavailable(f"unknown bench {name!r}; choose from {', '.join(BENCHES)}")


def make_env(name: str, suite: str | None = None, layout: str | None = None, **kwargs):
    """The bench's env; ``suite`` picks LIBERO's suite, ``layout`` CALVIN's scene (A-D; ignored elsewhere)."""
    _check(name)
    if name == "kitchen_r":
        from sim.envs.kitchen_r.env import KitchenREnv

        return KitchenREnv(**kwargs)
    if name == "calvin":
        from sim.envs.calvin.env import CalvinEnv

        return CalvinEnv(layout=layout or "D", **kwargs)
    from sim.envs.libero.env import LiberoEnv

    return LiberoEnv(suite=suite or "spatial", **kwargs)


def task_by_id(name: str, task_id: str):
    """A bench's task (task_id, instruction, category, split, goals, max_steps) by its id."""
    _check(name)
    if name == "kitchen_r":
        from sim.envs.kitchen_r.tasks import task_by_id as lookup
    elif name == "calvin":
        from sim.envs.calvin.tasks import task_by_id as lookup
    else:
        from sim.envs.libero.suites import task_by_id as lookup
    return lookup(task_id)


def lexicon(name: str) -> dict[str, list[str]]:
    """How a bench's instructions name its things: {name: [phrases]} ('shelf': 'shelving unit',
    'pantry shelf'; 'bottom_right_burner': 'front right burner'). The learned planner reads which
    things a task names through it (a robot's object lexicon). {} where plans name things by their
    own names."""
    if name == "kitchen_r":
        from sim.envs.kitchen_r import catalog as C

        out: dict[str, list[str]] = {}
        for thing in (*C.AREAS, *C.SURFACES, *C.ALL_FIXTURES):
            out.setdefault(thing.name, [])
            out[thing.name] += [w for w in thing.words if w not in out[thing.name]]
        for thing in (*C.OBJECTS, *C.RECEPTACLES):
            out[thing.name] = [thing.words]
        return out
    if name in BENCHES:
        return {}
    raise BenchUnavailable(f"unknown bench {name!r}; choose from {', '.join(BENCHES)}")


def landmarks(name: str) -> dict[str, list[float]]:
    """Map poses (world x, y, yaw) a mobile bench's plans name: the areas it docks at and each
    fixture's dock. {} for fixed-base benches. Policies see the one a plan names (grounding)."""
    if name == "kitchen_r":
        from sim.envs.kitchen_r import catalog as C

        return {**{a.name: list(a.pose) for a in C.AREAS}, **{f.name: list(f.dock) for f in C.ALL_FIXTURES}}
    if name in BENCHES:
        return {}
    raise BenchUnavailable(f"unknown bench {name!r}; choose from {', '.join(BENCHES)}")
