"""What a correction can be (YAY, arXiv 2403.12910): typed results of parsing one utterance or typed line.

``Freeze`` ("stop", "wait") holds the robot where it is; ``MotionCorrection`` overrides the plan with an
RT-H language motion of the grammar in ``vla_core.plans.motion``; ``InstructionCorrection`` overrides the
current sub-step with a free instruction; ``Resume`` ("continue") hands control back to the planner;
``Unrecognised`` does nothing and says why (never a motion).
"""

from __future__ import annotations

from dataclasses import dataclass

from vla_core.plans import LanguageMotion


@dataclass(frozen=True)
class _Command:
    """A correction that is its word alone (no argument): what it does is fixed per class."""

    text: str  # what was said or typed

    kind = ""
    effect = ""

    def describe(self) -> str:
        return f"{self.kind}: {self.effect}"


class Freeze(_Command):
    kind, effect = "freeze", "hold position until 'continue' or another correction"


class Resume(_Command):
    kind, effect = "resume", "the planner takes over again"


@dataclass(frozen=True)
class MotionCorrection:
    text: str
    motion: LanguageMotion  # a sentence of MOTION_VOCAB
    scale: float = 1.0  # "a bit" 0.5, "a lot" 2: multiplies how long the motion overrides the plan

    kind = "motion"

    def describe(self) -> str:
        return f"motion: {self.motion.text!r}" + (f" (x{self.scale:g} duration)" if self.scale != 1.0 else "")


@dataclass(frozen=True)
class InstructionCorrection:
    text: str
    instruction: str  # the cleaned sentence the policy is given ("grab the handle")

    kind = "instruction"

    def describe(self) -> str:
        return f"instruction: {self.instruction!r} (overrides the current sub-step)"


@dataclass(frozen=True)
class Unrecognised:
    text: str
    reason: str  # shown to the person: why nothing happens

    kind = "unrecognised"

    def describe(self) -> str:
        return f"no correction: {self.reason}"


Correction = Freeze | Resume | MotionCorrection | InstructionCorrection | Unrecognised
