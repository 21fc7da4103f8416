"""``python -m vla_core.speech.transcribe FILE.wav [FILE.wav ...]``: the transcript and the parsed correction
(or 'no correction: <why>') per file. Whisper base, offline, biased with the motion grammar.

Exit codes: 0 every file transcribed (whether or not it held a correction); 2 a file could not be read
(missing, not a PCM WAV, empty, too long); 3 the ASR model or faster-whisper is not installed.
"""

from __future__ import annotations

import argparse
import json
import sys

from vla_core.corrections import parse_correction
from vla_core.speech.audio import AudioError, read_wav
from vla_core.speech.model import ModelUnavailable


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vla_core.speech.transcribe", description=__doc__.split("\n\n")[0])
    p.add_argument("files", nargs="+", metavar="FILE.wav")
    p.add_argument("--json", action="store_true", help="one JSON object per file instead of text")
    p.add_argument("--no-prompt", action="store_true", help="no grammar bias (plain Whisper)")
    args = p.parse_args(argv)
    audio = {}
    for f in args.files:  # read everything first: a bad file fails before the model loads
        try:
            audio[f] = read_wav(f)
        except AudioError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    try:
        from vla_core.speech.asr import WhisperASR

        asr = WhisperASR(prompt="" if args.no_prompt else None)
    except ModelUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    for f, a in audio.items():
        t = asr.transcribe(a)
        c = parse_correction(t.text)
        if args.json:
            print(json.dumps({"file": f, "transcript": t.text, "kind": c.kind, "correction": c.describe(),
                              "asr_ms": round(t.latency_ms, 1), "audio_s": round(t.audio_s, 3)}))
            continue
        prefix = f"{f}: " if len(audio) > 1 else ""
        print(f"{prefix}transcript: {t.text!r} ({t.audio_s:.2f} s audio, {t.latency_ms:.0f} ms)")
        print(f"{prefix}{c.describe()}")  # 'no correction: <why>' for anything that is not one
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
