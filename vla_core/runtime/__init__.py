"""The runtime loop shared by sim, ROS 2 and the policy server."""

from vla_core.runtime.loop import LoopConfig, Outcome, RuntimeLoop, StepEvent

__all__ = ["LoopConfig", "Outcome", "RuntimeLoop", "StepEvent"]
