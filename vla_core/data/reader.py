"""Reading LeRobot v3 datasets back as ``EpisodeArrays`` (through lerobot's own ``LeRobotDataset``).

Works offline (``HF_HUB_OFFLINE=1``) on any local LeRobot v3 dataset: columns this
stack does not know are ignored, missing plan columns come back as None, a dataset
without keypoints has ``keypoints=None``. A collection written by ``EpisodeStore`` is
read as of its last commit without being changed, so a killed collection loads, and
one still being written can be read (see ``open_dataset``).
"""

from __future__ import annotations

import shutil
import weakref
from pathlib import Path

import numpy as np

from vla_core.data.episode import EpisodeArrays
from vla_core.data.features import (
    ACTION,
    IMAGE_PREFIX,
    KEYPOINTS,
    KEYPOINTS_VALID,
    PLAN_CORRECTED,
    PLAN_PATH,
    PLAN_STRINGS,
    STATE,
    keypoint_names_of,
)
from vla_core.data.store import StoreError, WriterLock, committed_snapshot, read_commit, recover, recover_locked


def open_dataset(root: str | Path, repo_id: str | None = None, repair: bool = False):
    """``LeRobotDataset(repo_id, root=root)``, offline. A collection written by ``EpisodeStore`` that
    is not at its last commit (a writer runs, or one was killed) is loaded from a snapshot of
    its committed state (removed with the dataset), leaving the folder untouched, unless
    ``repair``: then it is rolled back in place first (``store.recover``; refused while a
    writer runs)."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(root)
    repo_id = repo_id or f"local/{root.name}"
    commit = read_commit(root)
    if commit is None:
        if not (root / "meta" / "info.json").is_file():
            raise FileNotFoundError(f"{root} is not a LeRobot dataset (no meta/info.json)")
        return LeRobotDataset(repo_id, root=root)
    if repair:
        recover(root)
    lock = WriterLock(root)
    try:
        held = lock.acquire()
    except OSError:  # read-only folder: nothing writes it
        held = False
    if held:
        try:  # held while lerobot loads, so no writer starts mid-load
            if not recover_locked(root, dry_run=True):
                return LeRobotDataset(repo_id, root=root)
        finally:
            lock.release()
    if commit.episodes == 0:
        raise StoreError(f"{root} has no committed episode yet")
    snap = committed_snapshot(root)
    try:
        ds = LeRobotDataset(repo_id, root=snap)
    except BaseException:
        shutil.rmtree(snap, ignore_errors=True)
        raise
    weakref.finalize(ds, shutil.rmtree, snap, True)
    return ds


def dataset_fps(root: str | Path) -> float:
    """The control rate a dataset was recorded at, from its committed (or plain LeRobot) info,
    without loading the dataset."""
    import json

    commit = read_commit(root)
    info = commit.info if commit is not None else json.loads((Path(root) / "meta" / "info.json").read_text())
    return float(info["fps"])


def read_episodes(root: str | Path, repo_id: str | None = None, images: bool = False,
                  repair: bool = False) -> list[EpisodeArrays]:
    """Every episode of the dataset at ``root``, in episode order.

    ``images=True`` also decodes the camera streams into ``EpisodeArrays.images``
    (camera name -> (T, H, W, 3) uint8); by default they are skipped (slow).
    ``repair=True`` rolls a collection back to its last commit in place first (open_dataset)."""
    ds = open_dataset(root, repo_id, repair)
    feats = ds.meta.features
    missing = [k for k in (STATE, ACTION) if k not in feats]
    if missing:
        raise ValueError(f"{root}: a dataset without {' and '.join(missing)} has no EpisodeArrays form")
    wanted = [k for k in (STATE, ACTION, KEYPOINTS, KEYPOINTS_VALID, PLAN_PATH, PLAN_CORRECTED, *PLAN_STRINGS)
              if k in feats]
    hf = ds.hf_dataset.with_format("numpy", columns=wanted + ["episode_index", "index", "task_index", "timestamp"])
    cols = hf[:]
    order = np.argsort(cols["index"], kind="stable")  # row positions in frame order
    cols = {k: v[order] for k, v in cols.items()}
    task_of = {int(i): str(t) for t, i in zip(ds.meta.tasks.index, ds.meta.tasks["task_index"])}
    names = keypoint_names_of(feats)
    episodes = []
    ep_index = cols["episode_index"]
    bounds = np.flatnonzero(np.diff(ep_index)) + 1
    for rows in np.split(np.arange(len(ep_index)), bounds):
        if len(rows) == 0:
            continue
        kp = None
        if KEYPOINTS in cols:
            kp = np.asarray(np.stack(cols[KEYPOINTS][rows]), dtype=np.float32)
            if KEYPOINTS_VALID in cols:
                valid = np.stack(cols[KEYPOINTS_VALID][rows]) > 0.5
                kp[~valid] = np.nan
        strings = {attr: [str(s) for s in cols[key][rows]] if key in cols else None
                   for key, attr in PLAN_STRINGS.items()}
        ep = EpisodeArrays(
            task=task_of.get(int(cols["task_index"][rows[0]]), ""),
            state=np.asarray(np.stack(cols[STATE][rows]), dtype=np.float32),
            action=np.asarray(np.stack(cols[ACTION][rows]), dtype=np.float32),
            keypoints=kp, keypoint_names=names if kp is not None else (),
            path=np.asarray(np.stack(cols[PLAN_PATH][rows]), dtype=np.float32) if PLAN_PATH in cols else None,
            corrected=np.stack(cols[PLAN_CORRECTED][rows]).reshape(-1) > 0.5 if PLAN_CORRECTED in cols else None,
            **strings,
        )
        if images:
            ep.images = _decode_images(ds, order[rows], int(ep_index[rows[0]]), cols["timestamp"][rows])
        episodes.append(ep)
    return episodes


def read_datasets(roots: list[str], images: bool = False) -> tuple[list[EpisodeArrays], float]:
    """Several datasets read as one (clean + noisy collections): (episodes, fps). ValueError with
    one line for a missing or empty dataset, other keypoint sets, or other rates."""
    episodes: list[EpisodeArrays] = []
    for root in roots:
        if not Path(root).exists():
            raise ValueError(f"dataset not found: {root} (make one with python -m vla_core.collect)")
        got = read_episodes(root, images=images)
        if not got:
            raise ValueError(f"dataset {root} has no episodes")
        if episodes and got[0].keypoint_names != episodes[0].keypoint_names:
            raise ValueError(f"dataset {root} names other keypoints than {roots[0]}")
        episodes += got
    fps = {dataset_fps(root) for root in roots}
    if len(fps) > 1:
        raise ValueError(f"datasets were recorded at different rates {sorted(fps)} Hz")
    return episodes, fps.pop()


def _decode_images(ds, rows: np.ndarray, episode_index: int, timestamps: np.ndarray) -> dict[str, np.ndarray]:
    """camera -> (T, H, W, 3) uint8 of one episode: video streams decoded in one call each
    (lerobot's decode_video_frames), image columns read from the rows."""
    from lerobot.datasets.video_utils import decode_video_frames

    out = {}
    ep = ds.meta.episodes[episode_index]
    for key in ds.meta.video_keys:
        if key.startswith(IMAGE_PREFIX) and key not in ds.meta.depth_keys:
            start = ep[f"videos/{key}/from_timestamp"]
            frames = decode_video_frames(ds.root / ds.meta.get_video_file_path(episode_index, key),
                                         [start + float(t) for t in timestamps], ds.tolerance_s,
                                         return_uint8=True)
            out[key[len(IMAGE_PREFIX):]] = frames.numpy().transpose(0, 2, 3, 1).copy()
    for key in ds.meta.image_keys:
        if key.startswith(IMAGE_PREFIX):
            chw = np.stack([ds.hf_dataset[int(r)][key].numpy() for r in rows])
            out[key[len(IMAGE_PREFIX):]] = np.clip(np.rint(chw.transpose(0, 2, 3, 1) * 255), 0, 255).astype(np.uint8)
    return out
