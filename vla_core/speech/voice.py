"""The voice node's logic without ROS: audio chunks → VAD → ASR → correction strings, and typed text
passed through. What comes out is the text for ``/vla/voice/correction`` (the agent parses it again, so a
typed line and a spoken one take the same path); the parsed correction rides along for logs."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from vla_core.corrections import Correction, parse_correction
from vla_core.corrections.parse import MAX_CHARS
from vla_core.speech.vad import EnergyVAD


@dataclass(frozen=True)
class Heard:
    text: str  # what to publish on the correction topic
    correction: Correction  # what the agent will make of it
    source: str  # 'voice' | 'typed'
    asr_ms: float = 0.0  # transcription time (voice)
    utterance_end: float | None = None  # ``clock`` time when the speech ended (voice): latency starts here


class VoiceCore:
    """``asr``: anything with ``transcribe(audio) -> Transcript`` (``vla_core.speech.asr.WhisperASR``).
    ``clock``: what ``utterance_end`` is measured on (the stream end is "now" when a chunk arrives)."""

    def __init__(self, asr, vad: EnergyVAD | None = None, clock: Callable[[], float] = time.monotonic):
        self.asr, self.vad, self.clock = asr, vad or EnergyVAD(), clock

    def audio(self, chunk) -> list[Heard]:
        """One chunk of the 16 kHz mono stream (S16LE bytes, int16 or float array); an utterance that ended in
        it is transcribed here (blocking for the ASR's time). Silence and empty transcripts give nothing."""
        now = self.clock()
        utterances = self.vad.feed(chunk)
        fed = self.vad.stream_s
        out = []
        for u in utterances:
            end = now - (fed - u.end_s)  # the stream's end is "now"; the speech ended that much earlier
            t = self.asr.transcribe(u.audio)
            if t.text:
                out.append(Heard(t.text, parse_correction(t.text), "voice", t.latency_ms, end))
        return out

    def typed(self, text) -> Heard | None:
        """A typed correction: passed through stripped (None for blank or over-long text, which is not sent)."""
        if not isinstance(text, str) or not text.strip() or len(text.strip()) > MAX_CHARS:
            return None
        return Heard(text.strip(), parse_correction(text), "typed")


__all__ = ["Heard", "VoiceCore"]
