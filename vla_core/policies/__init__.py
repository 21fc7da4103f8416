"""Low-level policies: (observation, plan) → action chunks (n, H, D)."""

from vla_core.policies.base import Policy

__all__ = ["Policy"]
