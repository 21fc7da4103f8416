"""The runtime loop shared by sim, ROS 2 and the policy server."""

from vla_core.runtime.loop import ChunkStepper, Decision, LoopConfig, Outcome, RuntimeLoop, StepEvent

__all__ = ["ChunkStepper", "Decision", "LoopConfig", "Outcome", "RuntimeLoop", "StepEvent"]
