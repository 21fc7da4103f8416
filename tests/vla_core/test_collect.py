"""vla_core.collect: bad input exits 2 with one line; a killed collection loads and resumes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vla_core import collect
from vla_core.data import read_episodes
from vla_core.data.store import COMMIT_FILE, FAULT_ENV, read_commit

NAV = ["--category", "navigate"]


def cli(argv, capsys):
    code = collect.main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    return code, err


@pytest.mark.parametrize("args, message", [
    (["--bench", "libero"], "libero demonstrations are not built yet"),
    (["--bench", "calvin", "--category", "stack"], "no --split or --category"),
    (["--bench", "calvin", "--layouts", "A,E"], "--layouts: unknown CALVIN layout 'E'"),
    (["--bench", "calvin", "--layouts", "A,A"], "--layouts must name distinct layouts"),
    (["--bench", "calvin", "--obs-mode", "depth"], "no --obs-mode depth"),
    (["--bench", "nope"], "unknown bench"),
    (["--episodes", "0"], "--episodes must be at least 1"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--split", "val"], "unknown split"),
    (["--category", "dance"], "unknown category"),
    (["--obs-mode", "x"], "--obs-mode"),
    (["--max-steps", "0"], "--max-steps"),
    (["--action-noise", "0.5"], "--action-noise must be in"),
    (["--thresholds", "missing.yaml"], "no such file"),
    (["--cameras", "ceiling"], "unknown camera 'ceiling'"),
    (["--frobnicate"], "unrecognized arguments"),
    (["--rollin", "/no/such/checkpoint"], "--rollin: checkpoint not found"),
    (["--rollin", Path(__file__).resolve().parents[2] / "checkpoints" / "kitchen_r_flow", "--rollin-frac", "1.5"], "--rollin-frac must be in [0, 1]"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    argv = ["--episodes", "1", "--out", tmp_path / "ds", *args]
    code, err = cli(argv, capsys)
    assert code == 2
    assert err.startswith("vla_core.collect: error:") and message in err and "\n" not in err
    assert not (tmp_path / "ds").exists()  # nothing written


def test_existing_folders_need_resume_and_a_collection(tmp_path, capsys):
    out = tmp_path / "ds"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, err = cli(["--episodes", "1", "--out", out], capsys)
    assert code == 2 and "not empty; pass --resume" in err
    code, err = cli(["--episodes", "1", "--out", out, "--resume"], capsys)
    assert code == 2 and "commit.json" in err
    assert (out / "notes.txt").read_text() == "mine"


def test_help_explains(capsys):
    with pytest.raises(SystemExit) as e:
        collect.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--episodes", "--workers", "--resume", "--keep-failures", "--cameras", "killed"):
        assert flag in out


def start(out: Path, *args, env_extra=None):
    env = {**os.environ, "MUJOCO_GL": "osmesa", "PYOPENGL_PLATFORM": "osmesa", "HF_HUB_OFFLINE": "1",
           **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-m", "vla_core.collect", "--out", str(out), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_kill_inside_the_commit_window_then_load_and_resume(tmp_path, capsys):
    out = tmp_path / "ds"
    # SIGKILL right after lerobot saved the 2nd episode (files open, info.json already counting it)
    proc = start(out, "--episodes", 3, *NAV, env_extra={FAULT_ENV: "saved:1"})
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    info = out / "meta" / "info.json"
    assert json.loads(info.read_text())["total_episodes"] == 2  # lerobot counted the torn episode
    episodes = read_episodes(out)  # reads the committed state, changes nothing
    assert len(episodes) == 1 and read_commit(out).episodes == 1
    assert json.loads(info.read_text())["total_episodes"] == 2
    code, err = cli(["--episodes", 3, *NAV, "--out", out, "--resume"], capsys)
    assert code == 0, err
    resumed = read_episodes(out)
    assert len(resumed) == 3
    np.testing.assert_array_equal(resumed[0].action, episodes[0].action)
    # the same dataset as an uninterrupted collection
    code, err = cli(["--episodes", 3, *NAV, "--out", tmp_path / "ref"], capsys)
    assert code == 0, err
    for a, b in zip(resumed, read_episodes(tmp_path / "ref")):
        np.testing.assert_array_equal(a.action, b.action)
        assert a.task == b.task and a.motion == b.motion and a.subtask == b.subtask


def test_sigkill_mid_collection_with_workers_loses_at_most_the_episodes_in_flight(tmp_path, capsys):
    out = tmp_path / "ds"
    proc = start(out, "--episodes", 6, "--workers", 2, *NAV)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        commit = out / COMMIT_FILE
        if commit.is_file() and json.loads(commit.read_text())["episodes"] >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    committed = read_commit(out).episodes
    assert 1 <= committed < 6
    episodes = read_episodes(out)
    assert len(episodes) == committed and all(len(e) > 0 for e in episodes)
    code, err = cli(["--episodes", 6, *NAV, "--out", out, "--resume", "--workers", 2], capsys)
    assert code == 0, err
    done = read_episodes(out)
    assert len(done) == 6
    log = [json.loads(line) for line in (out / "meta" / "vla_stack" / "episodes.jsonl").read_text().splitlines()]
    assert [r["job"] for r in log] == list(range(6)) and all(r["kept"] for r in log)
    assert not (out / collect.STAGING).exists()


def test_resume_reads_settings_older_collections_did_not_record(tmp_path, capsys):
    """A collection from before --action-noise and fine-grained instructions resumes only into what it
    holds: no noise is the same, but its plan.instruction holds subtask sentences, so it is refused."""
    out = tmp_path / "ds"
    code, err = cli(["--episodes", 1, *NAV, "--max-steps", 20, "--keep-failures", "--out", out], capsys)
    assert code == 0, err
    commit = json.loads((out / COMMIT_FILE).read_text())
    del commit["config"]["action_noise"]
    (out / COMMIT_FILE).write_text(json.dumps(commit))
    code, err = cli(["--episodes", 2, *NAV, "--max-steps", 20, "--keep-failures", "--out", out, "--resume"], capsys)
    assert code == 0, err  # missing action_noise reads as 0.0
    commit = json.loads((out / COMMIT_FILE).read_text())
    del commit["config"]["instructions"]
    (out / COMMIT_FILE).write_text(json.dumps(commit))
    code, err = cli(["--episodes", 3, *NAV, "--max-steps", 20, "--keep-failures", "--out", out, "--resume"], capsys)
    assert code == 2 and "instructions 'subtask' -> 'substep'" in err


def test_calvin_records_chain_instructions_with_arm_actions(tmp_path, capsys):
    """Job i records instruction i % 5 of training chain i // 5, after the earlier ones replayed."""
    from sim.envs.calvin.tasks import ANNOTATIONS, training_chain

    out = tmp_path / "calvin"
    code, err = cli(["--bench", "calvin", "--episodes", "3", "--out", out, "--layouts", "B"], capsys)
    assert code == 0, err
    chain = training_chain(0, collect.CALVIN_CHAIN_SEED)
    eps = read_episodes(out)
    assert [e.task for e in eps] == [ANNOTATIONS[t][0] for t in chain.tasks[:3]]
    assert all(e.action.shape[1] == 8 and np.isfinite(e.action).all() for e in eps)
    assert all(len(set(e.subtask)) == 1 for e in eps)  # one instruction per episode
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["robot_type"] == "panda" and info["features"]["action"]["shape"] == [8]
    # the second recording starts where the first left the scene (no reset between instructions)
    assert not np.allclose(eps[1].state[0], eps[0].state[0])
