"""Energy-based voice activity detection: cuts utterances out of a 16 kHz mono stream.

Per 30 ms frame the RMS level (dBFS) is compared with an adaptive noise floor: a frame is speech when it
is ``margin_db`` above the floor (and above ``min_db``). An utterance starts after ``start_frames`` speech
frames in a row (with ``pre_roll_s`` of audio before it, so the first consonant is kept) and ends after
``hangover_s`` of non-speech; shorter than ``min_speech_s`` is a click, dropped; longer than
``max_utterance_s`` is cut there. The floor follows non-speech frames (fast down, slow up), so steady
fan or motor noise is not speech.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vla_core.speech.audio import RATE, pcm16_chunk


@dataclass(frozen=True)
class VADConfig:
    frame_s: float = 0.03
    margin_db: float = 6.0  # white noise's 30 ms RMS varies < 1 dB; 10 dB-SNR speech peaks ~8 dB over it
    min_db: float = -55.0  # quieter than this is never speech
    start_frames: int = 2
    hangover_s: float = 0.45
    pre_roll_s: float = 0.2
    min_speech_s: float = 0.15
    max_utterance_s: float = 8.0

    def __post_init__(self) -> None:
        if not 0.005 <= self.frame_s <= 0.1 or self.start_frames < 1 or self.hangover_s <= 0 \
                or self.max_utterance_s <= self.min_speech_s or self.margin_db <= 0:
            raise ValueError(f"inconsistent VAD config: {self}")


@dataclass(frozen=True)
class Utterance:
    audio: np.ndarray  # (N,) float32, 16 kHz
    start_s: float  # on the stream's sample clock (seconds of audio fed before it)
    end_s: float  # where the speech ended (before the hangover)


class EnergyVAD:
    def __init__(self, config: VADConfig | None = None):
        self.config = c = config or VADConfig()
        self.frame = int(round(c.frame_s * RATE))
        self.pre_frames = int(round(c.pre_roll_s / c.frame_s))
        self.reset()

    def reset(self) -> None:
        self._buf = np.zeros(0, np.float32)  # samples not yet framed
        self._samples = 0  # samples framed so far (the stream clock)
        self._floor: float | None = None
        self._pre: list[np.ndarray] = []  # recent non-speech frames (pre-roll)
        self._speech: list[np.ndarray] = []  # frames of the utterance in progress
        self._run = 0  # speech frames in a row
        self._silence = 0  # non-speech frames since the last speech frame (inside an utterance)
        self._start = 0  # sample index where the utterance in progress starts
        self._lead = 0  # pre-roll frames at its head

    @property
    def active(self) -> bool:
        return bool(self._speech)

    @property
    def stream_s(self) -> float:
        """The stream clock: seconds of audio framed so far (what ``Utterance`` times are on)."""
        return self._samples / RATE

    def feed(self, chunk) -> list[Utterance]:
        """Any length of audio (see ``pcm16_chunk``); the utterances that ended inside it."""
        x = np.concatenate([self._buf, pcm16_chunk(chunk)])
        n = len(x) // self.frame * self.frame
        self._buf = x[n:]
        out = []
        for f in x[:n].reshape(-1, self.frame):
            u = self._frame(f)
            if u is not None:
                out.append(u)
        return out

    def flush(self) -> list[Utterance]:
        """The stream ended: close an utterance in progress."""
        u = self._end(len(self._speech) - self._silence) if self._speech else None
        return [u] if u is not None else []

    def _frame(self, f: np.ndarray) -> Utterance | None:
        c = self.config
        db = 20.0 * np.log10(max(float(np.sqrt(np.mean(f.astype(np.float64) ** 2))), 1e-5))
        if self._floor is None:
            self._floor = db
        speech = db > max(self._floor + c.margin_db, c.min_db)
        self._samples += len(f)
        if not speech:  # the floor learns from non-speech only: fast down, slow up
            self._floor = db if db < self._floor else 0.97 * self._floor + 0.03 * db
        if not self._speech:
            self._run = self._run + 1 if speech else 0
            self._pre.append(f)
            if self._run >= c.start_frames:
                keep = self._pre[-(self.pre_frames + self._run):]
                self._speech, self._pre, self._silence = list(keep), [], 0
                self._lead = len(keep) - self._run  # pre-roll frames: not speech
                self._start = self._samples - len(keep) * self.frame
            else:
                self._pre = self._pre[-(self.pre_frames + c.start_frames):]
            return None
        self._speech.append(f)
        self._silence = 0 if speech else self._silence + 1
        if self._silence * c.frame_s >= c.hangover_s:
            return self._end(len(self._speech) - self._silence)
        if len(self._speech) * c.frame_s >= c.max_utterance_s:
            return self._end(len(self._speech))
        return None

    def _end(self, n_frames: int) -> Utterance | None:
        """Close the utterance in progress after its first ``n_frames`` (the rest is hangover) and start
        listening afresh (``start_frames`` speech frames again before the next one)."""
        speech, lead = self._speech, self._lead
        self._speech, self._silence, self._run, self._pre = [], 0, 0, []
        if (n_frames - lead) * self.config.frame_s < self.config.min_speech_s:  # a click or a knock
            return None
        audio = np.concatenate(speech)  # the hangover's silence too: Whisper likes a little tail
        start = self._start / RATE
        return Utterance(audio, start, start + n_frames * self.frame / RATE)


__all__ = ["EnergyVAD", "Utterance", "VADConfig"]
