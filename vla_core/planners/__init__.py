"""High-level planners: observation + task → Plan."""

from vla_core.planners.base import Planner, PlanResult
from vla_core.planners.oracle import OraclePlanner

__all__ = ["Planner", "PlanResult", "OraclePlanner"]
