"""End to end: espeak-ng audio → energy VAD → Whisper base (faster-whisper, offline) → correction → the
runtime loop in the MuJoCo kitchen. A spoken "stop" freezes the robot, a spoken "move left" moves the EE
left. Skips with the reason where espeak-ng or the ASR model packages are missing (CI installs both:
Makefile APT_PACKAGES and setup.cfg)."""

import time

import numpy as np
import pytest

from vla_core.speech.model import ModelUnavailable
from vla_core.speech.synth import espeak_available, speak

if not espeak_available():
    pytest.skip("espeak-ng not installed (apt-get install -y espeak-ng)", allow_module_level=True)


@pytest.fixture(scope="module")
def asr():
    from vla_core.speech.asr import WhisperASR

    try:
        return WhisperASR()
    except ModelUnavailable as e:
        pytest.skip(f"ASR model unavailable: {e}")


def utterance(text, voice, noise=0.005, seed=0):
    """(N,) 16 kHz: silence, the command, silence, with a little noise (a room, not a studio)."""
    x = np.concatenate([np.zeros(8000, np.float32), speak(text, voice=voice), np.zeros(12000, np.float32)])
    return x + noise * np.random.default_rng(seed).standard_normal(len(x)).astype(np.float32)


def hear(asr, audio):
    from vla_core.speech.voice import VoiceCore

    core = VoiceCore(asr)
    out = [h for i in range(0, len(audio), 1600) for h in core.audio(audio[i:i + 1600])]
    assert len(out) == 1, out
    return out[0]


@pytest.mark.timeout(300)
def test_spoken_stop_and_move_left_change_what_the_sim_robot_does(asr):
    from sim.envs.kitchen_r.env import KitchenREnv
    from sim.envs.kitchen_r.tasks import tasks_for
    from sim.experts.policy import ExpertPolicy
    from vla_core.corrections.config import CorrectionConfig
    from vla_core.corrections.override import Overrider
    from vla_core.planners import OraclePlanner
    from vla_core.runtime import LoopConfig, RuntimeLoop

    stop = hear(asr, utterance("stop", "en-us"))
    left = hear(asr, utterance("move left", "en-gb", seed=1))
    assert stop.correction.kind == "freeze", stop
    assert left.correction.kind == "motion" and left.correction.motion.text == "move arm left", left

    env = KitchenREnv()
    ov = Overrider(CorrectionConfig(motion_duration_s=1.5, cut_chunk="all"))
    events = []
    said = {15: stop, 25: left}

    def on_step(ev):
        events.append(ev)
        if ev.t in said:  # arrival stamped at the end of the utterance: latency includes the ASR
            h = said[ev.t]
            ov.source.put(h.text, arrived=time.monotonic() - h.asr_ms / 1e3)

    RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env), LoopConfig(n_exec=8, max_steps=45), on_step=on_step,
                corrections=ov).run_episode(2, tasks_for("train", "pick_place")[0])  # the base drives at steps 15-25
    plans = [e.plan.plan.to_text() for e in events]
    base = np.array([e.obs.proprio.base_pose for e in events])
    ee = np.array([e.obs.proprio.ee_pos for e in events])
    assert plans[15:25] == ["stop"] * 10
    assert np.linalg.norm(base[24, :2] - base[16, :2]) < 0.01  # frozen
    assert plans[25:40] == ["move arm left"] * 15
    assert ee[39, 1] - ee[24, 1] > 0.08  # moved left
    latency = {c.kind: c.latency_ms for e in events for c in e.corrections if c.latency_ms is not None}
    assert latency["freeze"] >= stop.asr_ms and latency["motion"] >= left.asr_ms
