"""``python -m vla_core.speech.transcribe``: exit codes and output; VoiceCore with a stand-in ASR."""

import subprocess
import sys
import wave

import numpy as np
import pytest

from vla_core.speech import transcribe
from vla_core.speech.asr import Transcript, command_prompt
from vla_core.speech.model import ModelUnavailable
from vla_core.speech.voice import VoiceCore


def test_bad_files_exit_2_before_the_model_loads(tmp_path, capsys):
    (tmp_path / "x.wav").write_text("not audio")
    assert transcribe.main([str(tmp_path / "x.wav")]) == 2
    assert "not a PCM WAV" in capsys.readouterr().err
    assert transcribe.main([str(tmp_path / "missing.wav")]) == 2


def test_missing_model_exits_3_with_the_install_command(tmp_path, capsys, monkeypatch):
    with wave.open(str(tmp_path / "s.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\0\0" * 16000)
    import vla_core.speech.asr as asr

    def unavailable(*a, **k):
        raise ModelUnavailable("faster-whisper is not installed: pip install ...")

    monkeypatch.setattr(asr, "WhisperASR", unavailable)
    assert transcribe.main([str(tmp_path / "s.wav")]) == 3
    assert "pip install" in capsys.readouterr().err


def test_usage_error_exits_2():
    out = subprocess.run([sys.executable, "-m", "vla_core.speech.transcribe"], capture_output=True, text=True)
    assert out.returncode == 2 and "FILE.wav" in out.stderr


def test_prompt_speaks_the_grammar():
    p = command_prompt()
    for phrase in ("stop", "continue", "move left", "move down", "rotate the gripper right", "open the gripper"):
        assert phrase in p


class FakeASR:
    def __init__(self, text):
        self.text, self.calls = text, 0

    def transcribe(self, audio):
        self.calls += 1
        return Transcript(self.text, 5.0, len(audio) / 16000)


def test_voice_core_transcribes_each_utterance_and_passes_typed_text():
    rng = np.random.default_rng(0)
    t = np.arange(8000) / 16000
    speech = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    x = np.concatenate([np.zeros(16000), speech, np.zeros(16000)]).astype(np.float32)
    x += 0.003 * rng.standard_normal(len(x)).astype(np.float32)
    clock = iter(np.arange(100.0, 200.0, 0.1))
    core = VoiceCore(FakeASR("Move left."), clock=lambda: next(clock))
    heard = [h for i in range(0, len(x), 1600) for h in core.audio((x[i:i + 1600] * 32767).astype("<i2").tobytes())]
    assert len(heard) == 1 and heard[0].text == "Move left." and heard[0].correction.kind == "motion"
    # chunk i arrives at clock 100 + 0.1 i holding stream time up to 0.1 (i + 1): the speech, which ends at
    # 1.5 s of stream, ended at clock 99.9 + 1.5 (not when the hangover ran out, ~0.5 s later)
    assert heard[0].source == "voice" and heard[0].utterance_end == pytest.approx(101.4, abs=0.05)
    assert core.typed("  stop ").text == "stop" and core.typed("stop").correction.kind == "freeze"
    assert core.typed("") is None and core.typed(None) is None and core.typed("x" * 500) is None
    silent = VoiceCore(FakeASR(""))
    assert silent.audio(x) == [] and silent.asr.calls == 1  # heard something, transcribed to nothing: no text


@pytest.mark.parametrize("bad", [b"\x01", np.full(10, np.nan)])
def test_voice_core_rejects_bad_audio(bad):
    with pytest.raises(ValueError):
        VoiceCore(FakeASR("x")).audio(bad)
