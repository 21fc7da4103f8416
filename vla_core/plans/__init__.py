"""Plans: what a high-level planner hands the low-level policy."""

from vla_core.plans.kinds import Instruction, LanguageMotion, Path3D, Plan
from vla_core.plans.subtask import SUBTASK_KINDS, Subtask

__all__ = ["Instruction", "LanguageMotion", "Path3D", "Plan", "Subtask", "SUBTASK_KINDS"]
