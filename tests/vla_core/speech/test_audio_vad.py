"""Audio input checks and the energy VAD on synthetic streams (tone bursts in noise; espeak-ng speech
where installed)."""

import wave

import numpy as np
import pytest

from vla_core.speech.audio import AudioError, pcm16_chunk, read_wav
from vla_core.speech.synth import espeak_available, speak
from vla_core.speech.vad import EnergyVAD, VADConfig

RATE = 16000


def write_wav(path, x, rate=RATE, channels=1, width=2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels), w.setsampwidth(width), w.setframerate(rate)
        w.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes() if width == 2 else x)


def burst(seconds, freq=220.0, amp=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * np.sin(2 * np.pi * freq * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def test_read_wav_resamples_and_mixes_down(tmp_path):
    x = burst(0.5)
    write_wav(tmp_path / "a.wav", x)
    np.testing.assert_allclose(read_wav(tmp_path / "a.wav"), x, atol=1e-4)
    stereo = np.repeat(burst(0.5)[::2], 2)  # 0.5 s at 8 kHz, stereo (interleaved L R)
    write_wav(tmp_path / "b.wav", stereo, rate=8000, channels=2)
    assert len(read_wav(tmp_path / "b.wav")) == pytest.approx(RATE * 0.5, abs=2)


@pytest.mark.parametrize("content,match", [(b"", "not a PCM WAV"), (b"RIFF....WAVEjunk", "not a PCM WAV"),
                                           (b"hello world", "not a PCM WAV")])
def test_read_wav_rejects_what_is_not_a_wav(tmp_path, content, match):
    (tmp_path / "x.wav").write_bytes(content)
    with pytest.raises(AudioError, match=match):
        read_wav(tmp_path / "x.wav")


def test_read_wav_rejects_missing_and_empty(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        read_wav(tmp_path / "none.wav")
    write_wav(tmp_path / "e.wav", np.zeros(0, np.float32))
    with pytest.raises(AudioError, match="no audio"):
        read_wav(tmp_path / "e.wav")


@pytest.mark.parametrize("width", [2, 3, 4])
def test_read_wav_keeps_the_whole_frames_of_a_truncated_file(tmp_path, width):
    """An interrupted recording: the header promises more data than the file holds, cut mid-sample."""
    x = burst(0.1)
    write_wav(tmp_path / "t.wav", x)
    full = (tmp_path / "t.wav").read_bytes()
    pcm = {2: (x * 32767).astype("<i2").tobytes(), 3: b"".join(int(v).to_bytes(3, "little", signed=True)
           for v in (x * 8388607).astype(np.int32)), 4: (x * 2147483647).astype("<i4").tobytes()}[width]
    with wave.open(str(tmp_path / "w.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(width), w.setframerate(RATE), w.writeframes(pcm)
    cut = (tmp_path / "w.wav").read_bytes()[:-(width * 10 + 1)]  # 10 frames and one byte of the next gone
    (tmp_path / "w.wav").write_bytes(cut)
    np.testing.assert_allclose(read_wav(tmp_path / "w.wav"), x[:-11], atol=1e-4)
    (tmp_path / "w.wav").write_bytes(full[:44 + 1])  # header and one byte: not even one frame
    with pytest.raises(AudioError, match="no audio"):
        read_wav(tmp_path / "w.wav")


def test_pcm_chunks_are_checked():
    assert pcm16_chunk(np.array([0, 16384], "<i2").tobytes()).tolist() == [0.0, 0.5]
    with pytest.raises(AudioError, match="even number"):
        pcm16_chunk(b"\x00")
    with pytest.raises(AudioError, match="NaN"):
        pcm16_chunk(np.array([0.0, np.nan]))
    with pytest.raises(AudioError, match="mono"):
        pcm16_chunk(np.zeros((2, 2)))
    with pytest.raises(AudioError, match="int16 or float"):
        pcm16_chunk(np.zeros(3, np.int64))


def stream(parts, noise=0.005, seed=0):
    x = np.concatenate(parts)
    return x + noise * np.random.default_rng(seed).standard_normal(len(x)).astype(np.float32)


def feed(vad, x, chunk=1600):
    out = []
    for i in range(0, len(x), chunk):
        out += vad.feed(x[i:i + chunk])
    return out + vad.flush()


def test_vad_cuts_two_utterances_out_of_noise_at_the_right_times():
    x = stream([np.zeros(RATE), burst(0.8), np.zeros(RATE), burst(0.5), np.zeros(RATE)])
    us = feed(EnergyVAD(), x)
    assert len(us) == 2
    assert us[0].start_s == pytest.approx(1.0, abs=0.25) and us[0].end_s == pytest.approx(1.8, abs=0.1)
    assert us[1].start_s == pytest.approx(2.8, abs=0.25) and us[1].end_s == pytest.approx(3.3, abs=0.1)
    assert all(u.audio.dtype == np.float32 for u in us)


def test_vad_ignores_steady_noise_and_clicks_and_caps_long_speech():
    assert feed(EnergyVAD(), stream([np.zeros(3 * RATE)], noise=0.05)) == []  # loud but steady
    click = np.zeros(RATE, np.float32)
    click[8000:8160] = 0.9  # 10 ms
    assert feed(EnergyVAD(), stream([click, click])) == []
    us = feed(EnergyVAD(VADConfig(max_utterance_s=1.0)), stream([np.zeros(RATE), burst(2.5), np.zeros(RATE)]))
    assert len(us) >= 2 and all(len(u.audio) <= 1.3 * RATE for u in us)


def test_vad_after_flush_needs_start_frames_again():
    vad = EnergyVAD()
    vad.feed(stream([np.zeros(RATE), burst(0.3)]))
    assert vad.active and len(vad.flush()) == 1 and not vad.active
    vad.feed(burst(0.03)[:vad.frame])  # one loud frame: not yet speech (start_frames is 2)
    assert not vad.active


def test_vad_takes_bytes_in_any_chunking():
    x = stream([np.zeros(RATE), burst(0.6), np.zeros(RATE)])
    pcm = (x * 32767).astype("<i2").tobytes()
    a = feed(EnergyVAD(), pcm, chunk=1000)  # odd chunk sizes, not frame-aligned
    b = feed(EnergyVAD(), x, chunk=4800)
    assert len(a) == len(b) == 1 and a[0].start_s == pytest.approx(b[0].start_s, abs=0.01)


@pytest.mark.skipif(not espeak_available(), reason="espeak-ng not installed (apt-get install espeak-ng)")
def test_vad_finds_spoken_commands():
    x = stream([np.zeros(RATE // 2), speak("move left"), np.zeros(RATE), speak("stop", voice="en-gb"),
                np.zeros(RATE)], noise=0.01)
    assert len(feed(EnergyVAD(), x)) == 2
