"""Spoken commands from espeak-ng (Debian package ``espeak-ng``), for tests, the ASR benchmark and a
simulated corrector: text → (N,) float32 at 16 kHz."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from vla_core.speech.audio import resample


class SynthUnavailable(RuntimeError):
    """espeak-ng is not installed (``apt-get install espeak-ng``)."""


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, voice: str = "en-us", speed: int = 160, pitch: int = 50) -> np.ndarray:
    """(N,) float32 16 kHz: ``text`` spoken by espeak-ng ``voice`` (e.g. en-us, en-gb, en-us+f3) at ``speed``
    words per minute. Text goes as one argument (no shell)."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SynthUnavailable("espeak-ng is not installed: apt-get install -y espeak-ng")
    if not isinstance(text, str) or not text.strip() or text.lstrip().startswith("-"):
        raise ValueError(f"text to speak must be a non-empty sentence, got {text!r}")
    out = subprocess.run([exe, "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "--stdout", text],
                         capture_output=True, timeout=30, check=False)
    if out.returncode != 0 or not out.stdout:
        raise ValueError(f"espeak-ng failed for voice {voice!r}: {out.stderr.decode(errors='replace').strip()}")
    with wave.open(io.BytesIO(out.stdout), "rb") as w:
        rate, raw = w.getframerate(), w.readframes(w.getnframes())
    return resample(np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0, rate)


__all__ = ["SynthUnavailable", "espeak_available", "speak"]
