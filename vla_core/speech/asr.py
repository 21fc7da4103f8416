"""Offline ASR: Whisper base through faster-whisper (CTranslate2, int8 on CPU), biased towards robot
commands with an ``initial_prompt`` built from the motion grammar's own words (so a new grammar word is in
the prompt without editing it). Measured here: ~1.0–1.3 s per 1–2 s utterance on 2 cores."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from vla_core.plans.motion import ARM_WORDS, BASE_WORDS, GRIPPER_WORDS, ROTATE_WORDS
from vla_core.speech.audio import RATE
from vla_core.speech.model import INSTALL_HINT, ModelUnavailable, whisper_base_dir

MAX_TOKENS = 32  # a correction is a few words; more is Whisper repeating its prompt


def command_prompt() -> str:
    """The biasing prompt: stop/continue words, the grammar's motions in spoken form, an instruction."""
    arm = [f"move {w}" for pair in ARM_WORDS for w in pair]
    rest = [w.replace(" arm ", " the gripper ").replace(" base ", " the base ") for pair in BASE_WORDS + ROTATE_WORDS
            for w in pair]
    grip = [w.replace(" gripper", " the gripper") for w in GRIPPER_WORDS]
    return ("Robot commands: stop, wait, continue, " + ", ".join(arm + ["a bit lower", "a bit higher"] + rest + grip)
            + ", grab the handle instead.")


@dataclass(frozen=True)
class Transcript:
    text: str  # stripped; '' when nothing was heard
    latency_ms: float  # wall time of the transcription
    audio_s: float  # length of the audio


class WhisperASR:
    """``transcribe((N,) float32 16 kHz) -> Transcript``. Loads the model on construction
    (``ModelUnavailable`` with the install command when faster-whisper or the model packages are missing)."""

    def __init__(self, prompt: str | None = None, threads: int = 2, beam_size: int = 1):
        try:
            from faster_whisper import WhisperModel
        except ImportError:
            raise ModelUnavailable(f"faster-whisper is not installed: {INSTALL_HINT}") from None
        self.prompt = command_prompt() if prompt is None else prompt
        self.beam_size = beam_size
        self.model = WhisperModel(str(whisper_base_dir()), device="cpu", compute_type="int8", cpu_threads=threads)

    def transcribe(self, audio: np.ndarray) -> Transcript:
        a = np.asarray(audio, np.float32).reshape(-1)
        if not np.all(np.isfinite(a)):
            raise ValueError("audio contains NaN or inf")
        t = time.perf_counter()
        if len(a) < RATE // 10:  # under 0.1 s: nothing to hear (and Whisper would make something up)
            return Transcript("", 0.0, len(a) / RATE)
        # temperature 0 only: the fallback ladder re-decodes noisy clips up to 6 times (20 s on 2 cores); a
        # correction is a few words, so a run-on (the prompt echoed back) is cut at MAX_TOKENS
        segments, _ = self.model.transcribe(a, language="en", beam_size=self.beam_size, initial_prompt=self.prompt,
                                            condition_on_previous_text=False, vad_filter=False, temperature=0.0,
                                            max_new_tokens=MAX_TOKENS, without_timestamps=True)
        text = " ".join(s.text.strip() for s in segments).strip()
        return Transcript(text, 1e3 * (time.perf_counter() - t), len(a) / RATE)


__all__ = ["Transcript", "WhisperASR", "command_prompt"]
