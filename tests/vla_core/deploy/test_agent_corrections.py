"""The agent's correction input: text (the /vla/voice/correction topic) and audio through a voice core."""

import json

import numpy as np

from vla_core.deploy.agent import Agent
from vla_core.deploy.config import AgentConfig
from vla_core.speech.asr import Transcript
from vla_core.speech.voice import VoiceCore

from test_agent import POSE, Clock, Planner, Policy, feed  # noqa: E402  (the agent tests' stubs)


def acting(clock, voice=None):
    agent = Agent(Planner(), Policy(), AgentConfig(), clock=clock, voice=voice)
    agent.set_task("put the mug in the bowl")
    feed(agent, clock)
    clock.t += 0.1
    assert agent.tick().status.override == "none"
    return agent


def test_stop_holds_the_measured_pose_continue_resumes_and_the_status_says_so():
    clock = Clock()
    agent = acting(clock)
    clock.t += 0.05
    assert agent.on_correction("stop").kind == "freeze"
    clock.t += 0.05
    feed(agent, clock)
    out = agent.tick()
    np.testing.assert_allclose(out.action.data, [*POSE.position, *POSE.quat, 0.9])  # hold, gripper kept
    s = json.loads(out.status.to_json())
    assert s["override"] == "freeze" and s["plan"] == "stop" and s["plan_kind"] == "motion"
    assert s["corrections"][0]["kind"] == "freeze" and s["corrections"][0]["latency_ms"] == 50.0
    assert any("continue" in r for r in s["reasons"])
    agent.on_correction("continue")
    out = agent.tick()
    assert out.status.override == "none" and out.status.plan == "reach for the mug"


def test_move_left_and_garbage():
    clock = Clock()
    agent = acting(clock)
    agent.on_correction("move left")
    agent.tick()  # the running chunk (n_exec 2) ends first
    out = agent.tick()
    assert out.status.plan == "move arm left" and out.action.data[1] == POSE.position[1] + 0.01
    c = agent.on_correction("sing me a song")
    out = agent.tick()
    assert c.kind == "unrecognised" and out.status.plan == "move arm left"  # nothing changed
    assert any("no correction" in r for r in out.status.reasons)


class FakeASR:
    def transcribe(self, audio):
        return Transcript("Stop!", 800.0, len(audio) / 16000)


def test_audio_through_a_voice_core_stamps_the_end_of_speech():
    clock = Clock()
    agent = acting(clock, voice=VoiceCore(FakeASR(), clock=clock))
    t = np.arange(8000) / 16000
    x = np.concatenate([np.zeros(8000), 0.3 * np.sin(2 * np.pi * 200 * t), np.zeros(16000)]).astype(np.float32)
    got = agent.on_audio(x)
    assert [c.kind for c in got] == ["freeze"]
    clock.t += 0.2
    feed(agent, clock)
    s = agent.tick().status
    # the speech ended 1.0 s before the end of the chunk it came in (then 0.2 s passed): ~1.2 s, not 0.2 s
    assert s.override == "freeze" and 1100 < s.corrections[0]["latency_ms"] < 1300
