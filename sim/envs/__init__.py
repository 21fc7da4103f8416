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
