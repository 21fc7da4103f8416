"""A simulated person for the corrections loop (YAY in simulation).

It watches privileged simulator state through the oracle planner. When the plan the robot acts on names
another subtask than the oracle's for ``patience`` actions in a row, it says the oracle's instruction for
the sub-step into the correction channel, in one of several phrasings, as typed text or (``hear``) spoken
by espeak-ng and transcribed by the real VAD + Whisper path. An instruction override it gave counts as
agreement while the oracle still says the same sentence; when the sub-step moves on, it speaks again.

Use it as the runtime loop's ``on_step`` hook beside an ``Overrider`` on the same ``CorrectionQueue``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vla_core.corrections.override import CorrectionQueue

if TYPE_CHECKING:
    from vla_core.runtime.loop import StepEvent

# how people put a fix; every one parses back to the bare instruction (vla_core.corrections.parse)
PHRASINGS = ("{}", "no, {}", "{} instead", "please {}", "actually, {}", "no no, {} please")


@dataclass(frozen=True)
class CorrectorConfig:
    patience: int = 8  # actions the robot's plan may disagree with the oracle before the corrector speaks
    repeat_s: float = 3.0  # least time between two corrections that say the same sentence

    def __post_init__(self) -> None:
        if self.patience < 1 or not self.repeat_s >= 0:
            raise ValueError(f"patience must be >= 1 and repeat_s >= 0, got {self.patience}, {self.repeat_s}")


@dataclass(frozen=True)
class Said:
    t: int  # the loop's step when it spoke
    text: str  # what it said
    heard: str  # what reached the channel (the transcript, when spoken)


class SimulatedCorrector:
    """``oracle``: a planner over privileged state (``OraclePlanner(env, kind='instruction')``); ``hear``:
    text → what the channel receives (None: typed; ``spoken(core)`` for espeak-ng + ASR)."""

    def __init__(self, oracle, channel: CorrectionQueue, config: CorrectorConfig | None = None, seed: int = 0,
                 hear: Callable[[str], str] | None = None):
        self.oracle, self.channel = oracle, channel
        self.config = config or CorrectorConfig()
        self.hear = hear
        self.rng = np.random.default_rng(seed)
        self.said: list[Said] = []
        self._disagree = 0
        self._last: tuple[str, float] | None = None  # (sentence, obs.time) of the last correction
        self._task: str | None = None  # reset() was called; the oracle resets at the episode's first step

    def reset(self, task: str, seed: int | None = None) -> None:
        """Before an episode. The oracle reads the scene's plan at the episode's first step, not here: the
        env is reset inside ``RuntimeLoop.run_episode``, after this call."""
        self._task = task
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        self.said, self._disagree, self._last = [], 0, None

    def __call__(self, ev: StepEvent) -> None:
        if self._task is not None:
            self.oracle.reset(self._task)
            self._task = None
        truth = self.oracle.plan(ev.obs)
        if truth is None:  # the task is done
            return
        acting = ev.plan.plan
        sentence = truth.plan.to_text()
        agree = getattr(acting, "subtask", None) == truth.plan.subtask or acting.to_text() == sentence
        self._disagree = 0 if agree else self._disagree + 1
        if self._disagree < self.config.patience:
            return
        if self._last is not None and self._last[0] == sentence and ev.obs.time - self._last[1] < self.config.repeat_s:
            return
        text = str(self.rng.choice(PHRASINGS)).format(sentence)
        heard = self.hear(text) if self.hear is not None else text
        self.channel.put(heard)
        self.said.append(Said(ev.t, text, heard))
        self._disagree, self._last = 0, (sentence, ev.obs.time)


def spoken(core, voice: str = "en-us", speed: int = 160) -> Callable[[str], str]:
    """text → what ``core`` (``vla_core.speech.voice.VoiceCore``) hears when espeak-ng says it: the corrector's
    words through the same VAD and ASR as the voice node."""
    from vla_core.speech.audio import RATE
    from vla_core.speech.synth import speak

    def hear(text: str) -> str:
        audio = np.concatenate([np.zeros(RATE // 4, np.float32), speak(text, voice, speed), np.zeros(RATE, np.float32)])
        return " ".join(h.text for h in core.audio(audio))

    return hear


__all__ = ["CorrectorConfig", "PHRASINGS", "Said", "SimulatedCorrector", "spoken"]
