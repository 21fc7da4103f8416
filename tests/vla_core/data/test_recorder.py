"""Round trip: real kitchen_r expert episodes → EpisodeRecorder → LeRobot v3 → read_episodes."""

import numpy as np
import pytest

from sim.envs.kitchen_r.env import KEYPOINT_NAMES, KitchenREnv
from sim.envs.kitchen_r.tasks import tasks_for
from sim.experts.policy import ExpertPolicy
from vla_core.data import EpisodeStore, read_episodes
from vla_core.data.features import bench_features
from vla_core.data.labels import subtask_key
from vla_core.data.recorder import EpisodeRecorder
from vla_core.planners import OraclePlanner
from vla_core.plans.motion import label_motion
from vla_core.runtime import LoopConfig, RuntimeLoop


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Two short navigate episodes kept, one capped (failed) episode dropped; raw steps alongside."""
    root = tmp_path_factory.mktemp("rec") / "ds"
    env = KitchenREnv()
    store = EpisodeStore.create(root, bench_features(KEYPOINT_NAMES), fps=10, config={"test": True})
    recorder = EpisodeRecorder(store)
    raw: list = []
    hook = lambda ev: (recorder(ev), raw[-1].append(ev))  # noqa: E731
    loop = RuntimeLoop(env, OraclePlanner(env, kind="instruction"), ExpertPolicy(env), on_step=hook)
    tasks = tasks_for("train", "navigate")
    kept = []
    for i, (task, seed) in enumerate(((tasks[0], 3), (tasks[5], 4))):
        raw.append([])
        out = loop.run_episode(seed, task)
        assert out.success
        assert recorder.end_episode(out.success, {"job": i}) == i
        kept.append(raw[-1])
    capped = RuntimeLoop(env, OraclePlanner(env), ExpertPolicy(env), LoopConfig(max_steps=5), on_step=hook)
    raw.append([])
    out = capped.run_episode(5, tasks[1])
    assert recorder.end_episode(out.success, {"job": 2}) is None  # failures are dropped by default
    store.close()
    return root, kept, store


def test_read_episodes_returns_what_was_recorded(recorded):
    root, kept, _ = recorded
    episodes = read_episodes(root)
    assert len(episodes) == 2
    for ep, steps in zip(episodes, kept):
        assert len(ep) == len(steps) and ep.task == steps[0].prev_obs.task
        np.testing.assert_array_equal(ep.action, np.stack([ev.action for ev in steps]).astype(np.float32))
        np.testing.assert_array_equal(ep.state, np.stack([ev.prev_obs.proprio.vector() for ev in steps]))
        np.testing.assert_array_equal(ep.keypoints, np.stack([ev.prev_obs.keypoints for ev in steps]))  # NaN too
        assert np.isnan(ep.keypoints).any()  # objects not in the episode
        assert ep.keypoint_names == KEYPOINT_NAMES
        assert ep.subtask == [subtask_key(ev.plan.plan.subtask) for ev in steps]
        # the oracle's fine-grained sentence ('drive to the table'), not the subtask's ('navigate to the table')
        assert ep.instruction == [ev.plan.plan.text for ev in steps]
        assert all(s.startswith("drive to the ") for s in ep.instruction)
        assert ep.motion == [label_motion(ev.action, ev.prev_obs.proprio).text for ev in steps]
        assert ep.path.shape == (len(steps), 8, 4) and np.all(np.isfinite(ep.path))
        # the path starts at the current EE and ends where the subtask's last action left it
        np.testing.assert_allclose(ep.path[0, 0, :3], steps[0].prev_obs.proprio.ee_pos, atol=1e-5)
        np.testing.assert_allclose(ep.path[-1, -1, 2], steps[-1].obs.proprio.ee_pos[2], atol=1e-5)  # z: frame-free
        assert set(ep.subtask) == {f"navigate:{steps[0].plan.plan.subtask.target}"}
        assert "move base forward" in ep.motion
        assert ep.images == {}


def test_the_log_records_kept_and_dropped_jobs(recorded):
    _, _, store = recorded
    log = store.records()
    assert [(r["job"], r["kept"], r["success"], r["episode_index"]) for r in log] == [
        (0, True, True, 0), (1, True, True, 1), (2, False, False, None)]


def test_plain_lerobot_dataset_loads_it_offline(recorded):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root, kept, _ = recorded
    ds = LeRobotDataset("anyone/any_name", root=root)
    assert ds.num_episodes == 2 and len(ds) == sum(len(s) for s in kept)
    item = ds[0]
    assert isinstance(item["plan.motion"], str) and isinstance(item["plan.subtask"], str)
    assert tuple(item["observation.keypoints"].shape) == (len(KEYPOINT_NAMES), 3)
    assert item["task"] == kept[0][0].prev_obs.task
    assert ds.meta.features["observation.keypoints"]["names"]["keypoints"] == list(KEYPOINT_NAMES)
