"""Corrections (Yell At Your Robot): typed or spoken text → a typed correction that the runtime loop
applies between chunks (freeze, a language-motion or instruction override, hand back)."""

from vla_core.corrections.kinds import (Correction, Freeze, InstructionCorrection, MotionCorrection, Resume,
                                        Unrecognised)
from vla_core.corrections.parse import parse_correction

__all__ = ["Correction", "Freeze", "InstructionCorrection", "MotionCorrection", "Resume", "Unrecognised",
           "parse_correction"]
