"""Benchmark registry: name → env factory, or the reason it is not available yet."""

from __future__ import annotations

AVAILABLE = ("kitchen_r",)
NOT_YET = {
    "calvin": "the MuJoCo re-creation of CALVIN is not built yet (its own issue)",
    "libero": "the LIBERO adapter is not built yet (its own issue)",
}
BENCHES = AVAILABLE + tuple(NOT_YET)


class BenchUnavailable(ValueError):
    pass


def make_env(name: str, **kwargs):
    if name in NOT_YET:
        raise BenchUnavailable(f"bench {name!r} is not available: {NOT_YET[name]}")
    if name == "kitchen_r":
        from sim.envs.kitchen_r.env import KitchenREnv

        return KitchenREnv(**kwargs)
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
