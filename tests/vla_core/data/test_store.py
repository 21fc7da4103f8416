"""EpisodeStore: LeRobot v3 writing that survives a kill at any point (synthetic episodes)."""

import shutil

import numpy as np
import pytest

from vla_core.data import EpisodeArrays, EpisodeStore, read_episodes, recover
from vla_core.data.features import bench_features, episode_frames
from vla_core.data.store import StoreError, WriterLock, read_commit

NAMES = ("mug", "bowl", "door_handle")


def episode(t: int, seed: int, images: bool = False) -> EpisodeArrays:
    rng = np.random.default_rng(seed)
    kp = rng.normal(size=(t, 3, 3)).astype(np.float32)
    kp[:, 1] = np.nan  # never visible
    kp[0, 2] = np.nan  # hidden at the first step only
    ep = EpisodeArrays(
        task=f"task {seed % 2}", state=rng.normal(size=(t, 18)).astype(np.float32),
        action=rng.normal(size=(t, 10)).astype(np.float32), keypoints=kp, keypoint_names=NAMES,
        subtask=["pick:mug"] * (t - 1) + ["place:mug:table"], instruction=["pick up the mug"] * t,
        motion=["move arm down"] * (t - 1) + ["close gripper"], path=rng.normal(size=(t, 8, 4)).astype(np.float32))
    if images:  # smooth frames: survive video compression closely
        y, x = np.mgrid[0:32, 0:32]
        ep.images = {"head": np.stack([np.stack([x * 7 + i, y * 7, np.full_like(x, 40 * seed % 255)], -1)
                                       for i in range(t)]).clip(0, 255).astype(np.uint8)}
    return ep


def assert_same(a: EpisodeArrays, b: EpisodeArrays) -> None:
    assert a.task == b.task and a.keypoint_names == b.keypoint_names
    for name in ("state", "action", "keypoints", "path"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.subtask, a.instruction, a.motion) == (b.subtask, b.instruction, b.motion)


def new_store(root, cameras=()):
    return EpisodeStore.create(root, bench_features(NAMES, cameras, 32), fps=10, config={"k": 1})


def test_round_trip_keeps_nan_keypoints_strings_and_images(tmp_path):
    store = new_store(tmp_path / "ds", cameras=("head",))
    eps = [episode(7, 1, images=True), episode(5, 2, images=True)]
    assert [store.write(e, {"job": i}) for i, e in enumerate(eps)] == [0, 1]
    store.close()
    back = read_episodes(tmp_path / "ds", images=True)
    assert len(back) == 2
    for a, b in zip(back, eps):
        assert_same(a, b)
        assert a.images["head"].shape == b.images["head"].shape
        assert np.abs(a.images["head"].astype(int) - b.images["head"]).mean() < 6  # lossy video
    assert read_episodes(tmp_path / "ds")[0].images == {}  # skipped by default


def test_invisible_keypoints_are_zero_with_a_valid_flag_in_the_frames():
    frame = next(episode_frames(episode(3, 1), bench_features(NAMES)))
    np.testing.assert_array_equal(frame["observation.keypoints_valid"], [1, 0, 0])
    assert not np.isnan(frame["observation.keypoints"]).any() and frame["observation.keypoints"][1:].sum() == 0


def test_a_kill_between_save_and_commit_loses_only_that_episode(tmp_path):
    root, snap = tmp_path / "ds", tmp_path / "killed"
    store = new_store(root, cameras=("head",))
    first = episode(6, 1, images=True)
    store.write(first, {"job": 0})
    # the second episode is saved by lerobot but not closed nor committed: copy the folder as a kill would leave it
    for frame in episode_frames(episode(4, 2, images=True), store.features):
        store.ds.add_frame(frame)
    store.ds.save_episode()
    shutil.copytree(root, snap)
    store.close()
    assert read_commit(snap).episodes == 1
    fixed = recover(snap)
    assert any("info.json" in f for f in fixed) and any("uncommitted" in f for f in fixed)
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    assert LeRobotDataset("x/y", root=snap).num_episodes == 1  # plain lerobot loads it after recover
    assert recover(snap) == []  # idempotent
    back = read_episodes(snap)
    assert len(back) == 1
    assert_same(back[0], first)
    # writing continues where the commit left off
    store = EpisodeStore.open(snap)
    assert [r["job"] for r in store.records()] == [0]
    second = episode(5, 3, images=True)
    assert store.write(second, {"job": 1}) == 1
    store.skip({"job": 2})
    store.close()
    back = read_episodes(snap, images=True)
    assert len(back) == 2
    assert_same(back[1], second)
    assert [(r["job"], r["kept"]) for r in EpisodeStore.open(snap).records()] == [(0, True), (1, True), (2, False)]


def test_a_kill_after_the_files_closed_but_before_the_commit(tmp_path, monkeypatch):
    root = tmp_path / "ds"
    store = new_store(root)
    store.write(episode(4, 1), {"job": 0})
    import vla_core.data.store as store_mod

    snaps = []
    monkeypatch.setattr(store_mod, "_fault", lambda point, n: point == "closed" and snaps.append(
        shutil.copytree(root, tmp_path / f"snap{n}")))
    store.write(episode(4, 2), {"job": 1})
    store.close()
    snap = snaps[0]
    assert len(read_episodes(root)) == 2
    back = read_episodes(snap)  # episode 1 was complete on disk but not committed: rolled back
    assert len(back) == 1


def test_only_collections_can_be_opened(tmp_path):
    (tmp_path / "other").mkdir()
    with pytest.raises(StoreError, match="commit"):
        EpisodeStore.open(tmp_path / "other")
    assert recover(tmp_path / "other") == []


def test_foreign_lerobot_dataset_reads_with_missing_columns_as_none(tmp_path):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    feats = {"observation.state": {"dtype": "float32", "shape": (4,), "names": None},
             "action": {"dtype": "float32", "shape": (2,), "names": None}}
    ds = LeRobotDataset.create("someone/else", fps=5, features=feats, root=tmp_path / "foreign", use_videos=False)
    for e in range(2):
        for t in range(3):
            ds.add_frame({"observation.state": np.full(4, t, np.float32), "action": np.full(2, e, np.float32),
                          "task": f"do {e}"})
        ds.save_episode()
    ds.finalize()
    back = read_episodes(tmp_path / "foreign")
    assert [len(b) for b in back] == [3, 3] and [b.task for b in back] == ["do 0", "do 1"]
    assert back[1].action[0].tolist() == [1, 1]
    assert back[0].keypoints is None and back[0].path is None
    assert back[0].subtask is None and back[0].instruction is None and back[0].motion is None


def test_npz_hand_over_round_trip(tmp_path):
    ep = episode(5, 1, images=True)
    ep.save_npz(tmp_path / "e.npz", meta={"job": 3})
    back, meta = EpisodeArrays.load_npz(tmp_path / "e.npz")
    assert meta == {"job": 3}
    assert_same(back, ep)
    np.testing.assert_array_equal(back.images["head"], ep.images["head"])
    with pytest.raises(ValueError):
        EpisodeArrays("t", np.zeros((3, 18)), np.zeros((2, 10))).validate()


def test_reading_while_a_writer_runs_sees_the_committed_episodes_and_repairs_nothing(tmp_path):
    root = tmp_path / "ds"
    store = new_store(root)
    first = episode(4, 1)
    store.write(first, {"job": 0})
    with pytest.raises(StoreError, match="being written"):
        recover(root)
    assert not WriterLock(root).acquire()  # what a second writer (EpisodeStore.open) waits on
    for frame in episode_frames(episode(3, 2), store.features):  # in progress: files open, info.json ahead
        store.ds.add_frame(frame)
    store.ds.save_episode()
    back = read_episodes(root)  # from a snapshot of the commit; the writer's files are left alone
    assert len(back) == 1
    assert_same(back[0], first)
    store.ds.writer.close_writer()
    store.ds.meta._close_writer()
    store.close()
    assert recover(root)  # the writer is gone: now its uncommitted episode is rolled back
    assert len(read_episodes(root)) == 1


def test_a_collection_with_only_dropped_jobs_reopens_and_bad_episodes_leave_no_trace(tmp_path, monkeypatch):
    root = tmp_path / "ds"
    store = new_store(root)
    store.skip({"job": 0})
    store.close()
    store = EpisodeStore.open(root)
    bad = episode(4, 1)
    bad.keypoint_names = ("a", "b", "c")
    with pytest.raises(ValueError, match="keypoints"):
        store.write(bad, {"job": 1})
    import vla_core.data.store as store_mod

    def two_then_fail(ep, features):
        frames = episode_frames(ep, features)
        yield next(frames)
        yield next(frames)
        raise ValueError("broken frame")

    monkeypatch.setattr(store_mod, "episode_frames", two_then_fail)
    with pytest.raises(ValueError, match="broken"):
        store.write(episode(4, 2), {"job": 1})
    monkeypatch.undo()
    good = episode(3, 3)
    assert store.write(good, {"job": 1}) == 0
    store.close()
    back = read_episodes(root)
    assert len(back) == 1 and len(back[0]) == 3
    assert_same(back[0], good)


def test_a_one_frame_episode_is_refused_and_leaves_the_dataset_as_it_was(tmp_path):
    """lerobot's statistics of a 1-frame episode do not aggregate with the rest (a roll-in hand-over
    right before the end once recorded one and killed the collection at the next save)."""
    root = tmp_path / "ds"
    store = new_store(root)
    first = episode(5, 1)
    store.write(first, {"job": 0})
    with pytest.raises(ValueError, match="at least 2 frames"):
        store.write(episode(1, 2), {"job": 1})
    second = episode(2, 3)
    assert store.write(second, {"job": 1}) == 1
    store.close()
    back = read_episodes(root)
    assert [len(e) for e in back] == [5, 2]
    assert_same(back[1], second)


def test_the_corrected_column_round_trips_where_the_schema_has_it(tmp_path):
    ep = episode(6, 3)
    ep.corrected = np.array([0, 0, 1, 1, 0, 1], bool)
    store = EpisodeStore.create(tmp_path / "corr", bench_features(NAMES, corrections=True), fps=10, config={})
    store.write(ep, {"job": 0})
    store.close()
    back = read_episodes(tmp_path / "corr")[0]
    assert_same(back, ep)
    np.testing.assert_array_equal(back.corrected, ep.corrected)
    ep.save_npz(tmp_path / "e.npz")
    np.testing.assert_array_equal(EpisodeArrays.load_npz(tmp_path / "e.npz")[0].corrected, ep.corrected)
    assert "plan.corrected" not in bench_features(NAMES) and read_episodes(tmp_path / "corr")[0].corrected.dtype == bool
    ep.corrected = np.zeros(5, bool)
    with pytest.raises(ValueError, match="corrected"):
        ep.validate()
