"""The simulated corrector: it says the oracle's sub-step when the robot's plan names another subtask, in
phrasings the parser reads back as that instruction, and a shipped policy follows what it says."""

from pathlib import Path

import pytest

from sim.envs.kitchen_r.tasks import tasks_for
from sim.experts.policy import ExpertPolicy
from vla_core.corrections import InstructionCorrection, parse_correction
from vla_core.corrections.override import CorrectionQueue, Overrider
from vla_core.corrections.simulated import PHRASINGS, CorrectorConfig, SimulatedCorrector, spoken
from vla_core.planners import OraclePlanner
from vla_core.planners.base import PlanResult
from vla_core.plans import Instruction, Subtask
from vla_core.runtime import LoopConfig, RuntimeLoop

CKPT = Path(__file__).resolve().parents[3] / "checkpoints" / "kitchen_r_flow"


def oracle_sentences(env, category: str) -> set[str]:
    """Every sub-step sentence the oracle says along an expert episode of the first task of ``category``."""
    task = tasks_for("train", category)[0]
    obs = env.reset(3, task)
    oracle, expert = OraclePlanner(env, kind="instruction"), ExpertPolicy(env)
    oracle.reset(task.instruction)
    said = set()
    for _ in range(task.max_steps):
        res = oracle.plan(obs)
        if res is None:
            break
        said.add(res.plan.text)
        obs = env.step(expert.sample(obs, res.plan)[0, 0])
    return said


@pytest.mark.parametrize("category", ["pick_place", "knob", "light", "open_close"])
def test_every_phrasing_of_every_oracle_sentence_parses_back_to_it(env, category):
    sentences = oracle_sentences(env, category)
    assert len(sentences) >= 3
    for s in sentences:
        for p in PHRASINGS:
            c = parse_correction(p.format(s))
            assert isinstance(c, InstructionCorrection) and c.instruction == s, (p.format(s), c)


class WrongWay:
    """A planner that always sends the base to ``area`` (what the corrector is there to catch)."""

    def __init__(self, area: str):
        self.plan_result = PlanResult(Instruction(f"drive to the {area}", subtask=Subtask("navigate", area)), 0.9)

    def reset(self, task: str) -> None:
        pass

    def plan(self, obs):
        return self.plan_result


def test_the_corrector_speaks_up_and_the_policy_follows_it(env):
    from vla_core.policies.chunk_policy import ChunkPolicy

    task = next(t for t in tasks_for("test", "navigate") if t.goals[0].target == "counter")
    policy = ChunkPolicy.load(CKPT, noise="zero")
    outcomes = {}
    for with_corrector in (False, True):
        channel = CorrectionQueue(clock=lambda: 0.0)
        corrector = SimulatedCorrector(OraclePlanner(env, kind="instruction"), channel, CorrectorConfig(patience=8),
                                       seed=1)
        loop = RuntimeLoop(env, WrongWay("shelf"), policy, LoopConfig(n_exec=policy.n_exec, max_steps=150),
                           on_step=corrector if with_corrector else None, corrections=Overrider(source=channel))
        corrector.reset(task.instruction)
        outcomes[with_corrector] = (loop.run_episode(11, task), list(corrector.said))
    (alone, _), (helped, said) = outcomes[False], outcomes[True]
    assert not alone.success  # the wrong plan drives the robot to the shelf
    assert helped.success, said
    assert said and said[0].t == 8 and said[0].text.count("drive to the counter") == 1
    assert all(s.heard == s.text for s in said)  # typed: the channel gets the words as they are


def test_spoken_corrections_go_through_espeak_and_the_asr():
    from vla_core.speech.synth import espeak_available

    if not espeak_available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    from vla_core.speech.asr import WhisperASR
    from vla_core.speech.voice import VoiceCore

    heard = spoken(VoiceCore(WhisperASR()))("drive to the counter")
    c = parse_correction(heard)
    assert isinstance(c, InstructionCorrection) and c.instruction == "drive to the counter", heard


def test_config_is_checked():
    with pytest.raises(ValueError, match="patience"):
        CorrectorConfig(patience=0)
