"""Audio in: 16 kHz mono float32 in [-1, 1] is what the VAD and the ASR take. WAV files (PCM 8/16/24/32-bit,
any rate, mono or stereo) and raw S16LE chunks (a ROS audio topic) are converted here, with errors that say
what is wrong with the input."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import numpy as np

RATE = 16000
MAX_FILE_S = 600.0  # a correction is seconds long; a longer file is a mistake, not something to load whole


class AudioError(ValueError):
    """The audio cannot be used (not a WAV, not PCM, empty, too long, NaN …)."""


def read_wav(path: str | Path) -> np.ndarray:
    """(N,) float32 at 16 kHz mono from a PCM WAV file (other rates are resampled, channels averaged)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"{path}: no such file")
    try:
        with wave.open(str(path), "rb") as w:
            channels, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            if n / max(rate, 1) > MAX_FILE_S:
                raise AudioError(f"{path}: {n / rate:.0f} s of audio (at most {MAX_FILE_S:.0f} s)")
            raw = w.readframes(n)
    except (wave.Error, EOFError) as e:
        raise AudioError(f"{path}: not a PCM WAV file ({e})") from None
    raw = raw[: len(raw) // (width * channels) * (width * channels)]  # a truncated file: its whole frames
    if n == 0 or not raw:
        raise AudioError(f"{path}: no audio frames")
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    elif width == 4:
        x = np.frombuffer(raw, "<i4").astype(np.float32) / float(1 << 31)
    else:
        raise AudioError(f"{path}: {8 * width}-bit samples are not supported")
    x = x.reshape(-1, channels).mean(axis=1)
    return resample(x, rate)


def resample(x: np.ndarray, rate: int) -> np.ndarray:
    """(N,) at ``rate`` → (M,) float32 at 16 kHz (polyphase; exact for integer ratios)."""
    if rate <= 0:
        raise AudioError(f"sample rate must be positive, got {rate}")
    x = np.asarray(x, np.float32)
    if rate == RATE:
        return x
    from scipy.signal import resample_poly

    g = math.gcd(RATE, int(rate))
    return resample_poly(x, RATE // g, int(rate) // g).astype(np.float32)


def pcm16_chunk(data: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    """One chunk of a 16 kHz mono stream → (N,) float32: S16LE bytes, an int16 array or a float array in [-1, 1]."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        b = bytes(data)
        if len(b) % 2:
            raise AudioError(f"S16LE audio needs an even number of bytes, got {len(b)}")
        return np.frombuffer(b, "<i2").astype(np.float32) / 32768.0
    a = np.asarray(data)
    if a.ndim != 1:
        raise AudioError(f"audio chunk must be 1-D (mono), got shape {a.shape}")
    if a.dtype == np.int16:
        return a.astype(np.float32) / 32768.0
    if not np.issubdtype(a.dtype, np.floating):
        raise AudioError(f"audio chunk must be int16 or float, got {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise AudioError("audio chunk contains NaN or inf")
    return np.clip(a, -1.0, 1.0).astype(np.float32)


__all__ = ["AudioError", "RATE", "pcm16_chunk", "read_wav", "resample"]
