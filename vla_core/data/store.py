"""Crash-safe LeRobot v3 writing: every saved episode is on disk, complete and committed.

lerobot 0.6.1's ``LeRobotDataset`` keeps its parquet writers (frames, episode metadata)
open across episodes and writes their footers only in ``finalize()``, while it rewrites
``meta/info.json`` with the new episode count at every ``save_episode()``. A process
killed mid-collection therefore leaves unreadable files that ``info.json`` already
counts. ``EpisodeStore`` keeps lerobot's own writer and adds three things:

1. one file per episode: the dataset is created with tiny ``data_files_size_in_mb`` /
   ``video_files_size_in_mb``, so lerobot starts a new data, episode-metadata and video
   file for every episode instead of appending to (rewriting) a finished one;
2. after each ``save_episode()`` the two parquet writers are closed (footers written),
   so every file of a saved episode is complete;
3. a commit record, ``meta/vla_stack/commit.json`` (written atomically by rename), that
   snapshots what is committed: the small metadata files lerobot rewrites in place
   (info.json, stats.json, the task list), the last file index per stream, and the
   length of ``meta/vla_stack/episodes.jsonl`` (one line per finished job: kept or not).

``recover(root)`` rolls a dataset back to its last commit: it restores those metadata
files, deletes files past the committed ones and lerobot's temporaries, and truncates
the log. After it, plain ``LeRobotDataset(repo_id, root=root)`` loads the dataset.
A kill loses at most the episodes not yet committed.

A writer holds an exclusive ``flock`` on ``meta/vla_stack/writer.lock`` (released by the
kernel when it dies), so nothing repairs a folder under a live writer: ``recover`` then
refuses. Readers (vla_core.data.reader) never change a folder: when it is not at its
last commit (a writer runs, or one was killed) they load ``committed_snapshot`` instead,
a consistent copy made of hard links to the committed files.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from vla_core.data.episode import EpisodeArrays
from vla_core.data.features import KEYPOINTS, episode_frames, keypoint_names_of

STORE_DIR = Path("meta") / "vla_stack"
COMMIT_FILE = STORE_DIR / "commit.json"
LOG_FILE = STORE_DIR / "episodes.jsonl"
MIN_FRAMES = 2  # lerobot 0.6.1 computes a 1-frame episode's statistics with other shapes, and then fails to aggregate
LOCK_FILE = STORE_DIR / "writer.lock"
ONE_FILE_PER_EPISODE_MB = 1e-6  # any finished file is "full": lerobot opens a new one per episode
FAULT_ENV = "VLA_DATA_FAULT"  # tests only: "<point>:<n>" SIGKILLs this process at that point of write #n
_FILE_RE = re.compile(r"chunk-(\d+)/file-(\d+)\.(parquet|mp4)$")


class StoreError(ValueError):
    """The folder is not a collection this module can open (reported as one line)."""


@dataclass
class Commit:
    """The last consistent state of a dataset (``meta/vla_stack/commit.json``)."""

    episodes: int
    frames: int
    log_bytes: int
    info: dict
    stats: dict | None
    tasks: list[str]
    last_files: dict[str, list[int]] = field(default_factory=dict)  # stream -> [chunk, file]
    config: dict = field(default_factory=dict)
    version: int = 1


def read_commit(root: str | Path) -> Commit | None:
    path = Path(root) / COMMIT_FILE
    if not path.is_file():
        return None
    return Commit(**json.loads(path.read_text()))


def read_records(root: str | Path, commit: Commit | None = None) -> list[dict]:
    """A collection's committed log: one dict per finished job, kept (with its episode_index) or not;
    [] for a folder with no commit yet."""
    commit = commit or read_commit(root)
    if commit is None:
        return []
    with open(Path(root) / LOG_FILE, "rb") as f:
        data = f.read(commit.log_bytes)
    return [json.loads(line) for line in data.decode().splitlines() if line.strip()]


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _json_or_none(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _streams(info: dict) -> dict[str, Path]:
    """stream name -> folder holding its chunk-*/file-* files."""
    out = {"data": Path("data"), "meta/episodes": Path("meta/episodes")}
    for key, ft in info.get("features", {}).items():
        if ft.get("dtype") == "video":
            out[f"videos/{key}"] = Path("videos") / key
    return out


def _read_tasks(root: Path) -> list[str] | None:
    import pandas as pd

    try:
        df = pd.read_parquet(root / "meta" / "tasks.parquet")
    except Exception:  # missing or torn
        return None
    return [str(t) for t in df.sort_values("task_index").index]


class WriterLock:
    """Exclusive advisory lock of one collection folder (``flock``; dies with its process)."""

    def __init__(self, root: str | Path):
        self.path = Path(root) / LOCK_FILE
        self.fd: int | None = None

    def acquire(self, timeout: float = 0.0) -> bool:
        """True once held; False if another process (or another handle) still holds it after ``timeout`` s."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self.fd = fd
        return True

    def holder(self) -> str:
        try:
            return self.path.read_text().strip() or "?"
        except OSError:
            return "?"

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def recover(root: str | Path) -> list[str]:
    """Roll ``root`` back to its last commit; returns what was repaired (empty if nothing).

    A folder without a commit record is left alone. Raises StoreError while a writer
    holds the folder (its uncommitted files are work in progress, not debris)."""
    root = Path(root)
    if read_commit(root) is None:
        return []
    lock = WriterLock(root)
    if not lock.acquire():
        raise StoreError(f"{root} is being written by process {lock.holder()}; not repairing it")
    try:
        return recover_locked(root)
    finally:
        lock.release()


def recover_locked(root: Path, dry_run: bool = False) -> list[str]:
    """``recover`` for a caller that holds the folder's WriterLock. ``dry_run``: only report
    what stands between the folder and its last commit (lerobot temporaries and an
    over-long log excepted: they do not affect loading)."""
    c = read_commit(root)
    fixed: list[str] = []

    def fix(what: str, action) -> None:
        fixed.append(what)
        if not dry_run:
            action()

    for rel, content in (("meta/info.json", c.info), ("meta/stats.json", c.stats)):
        path = root / rel
        if content is None:
            if path.exists():
                fix(f"removed {rel}", path.unlink)
        elif not _same(_json_or_none(path), content):
            fix(f"restored {rel}", lambda p=path, t=json.dumps(content, indent=4): _write_atomic(p, t))
    tasks_path = root / "meta" / "tasks.parquet"
    if not c.tasks:
        if tasks_path.exists():
            fix("removed meta/tasks.parquet", tasks_path.unlink)
    elif _read_tasks(root) != c.tasks:
        fix("restored meta/tasks.parquet", lambda: _write_tasks(root, c.tasks))
    for stream, folder in _streams(c.info).items():
        last = tuple(c.last_files[stream]) if stream in c.last_files else None
        for path in sorted((root / folder).glob("chunk-*/file-*")):
            m = _FILE_RE.search(path.as_posix())
            if m and (last is None or (int(m[1]), int(m[2])) > last):
                fix(f"removed uncommitted {path.relative_to(root)}", path.unlink)
    if dry_run:
        return fixed
    for tmp in [root / "images", *root.glob("tmp*")]:  # lerobot's frame staging / video encoding temps
        if tmp.is_dir():
            if any(p.is_file() for p in tmp.rglob("*")):
                fixed.append(f"removed temporary {tmp.name}/")
            shutil.rmtree(tmp)
    log = root / LOG_FILE
    if log.exists() and log.stat().st_size > c.log_bytes:
        with open(log, "r+b") as f:
            f.truncate(c.log_bytes)
        fixed.append("truncated the episode log")
    return fixed


def _write_tasks(root: Path, tasks: list[str]) -> None:
    """meta/tasks.parquet as lerobot writes it (task → task_index), replaced atomically."""
    import pandas as pd
    from lerobot.datasets.io_utils import write_tasks

    tmp_root = Path(tempfile.mkdtemp(prefix="tasks.", dir=root / STORE_DIR))
    try:
        write_tasks(pd.DataFrame({"task_index": range(len(tasks))}, index=pd.Index(tasks, name="task")), tmp_root)
        (root / "meta").mkdir(parents=True, exist_ok=True)
        os.replace(tmp_root / "meta" / "tasks.parquet", root / "meta" / "tasks.parquet")
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)


def committed_snapshot(root: str | Path) -> Path:
    """A new folder holding exactly the committed state of collection ``root`` (hard links of
    its finished files, metadata from the commit): what readers load when the folder is not
    clean (a writer runs, or one was killed), without changing it. The caller removes it."""
    root = Path(root)
    c = read_commit(root)
    if c is None:
        raise StoreError(f"{root} holds no {COMMIT_FILE}")
    snap = Path(tempfile.mkdtemp(prefix="vla_snapshot_"))
    (snap / STORE_DIR).mkdir(parents=True)
    (snap / "meta" / "info.json").write_text(json.dumps(c.info, indent=4))
    if c.stats is not None:
        (snap / "meta" / "stats.json").write_text(json.dumps(c.stats, indent=4))
    if c.tasks:
        _write_tasks(snap, c.tasks)
    for stream, folder in _streams(c.info).items():
        if stream not in c.last_files:
            continue
        last = tuple(c.last_files[stream])
        for path in sorted((root / folder).glob("chunk-*/file-*")):
            m = _FILE_RE.search(path.as_posix())
            if m and (int(m[1]), int(m[2])) <= last:
                dst = snap / path.relative_to(root)
                dst.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, dst)
                except OSError:  # another file system
                    shutil.copy2(path, dst)
    return snap


def _scalar(v) -> int:
    return int(v[0] if isinstance(v, (list, tuple)) else v)


def _fault(point: str, n: int) -> None:
    if os.environ.get(FAULT_ENV) == f"{point}:{n}":
        os.kill(os.getpid(), signal.SIGKILL)


class EpisodeStore:
    """One LeRobot v3 dataset being written episode by episode; see the module doc."""

    def __init__(self, ds, commit: Commit, lock: WriterLock):
        self.ds = ds
        self.root = Path(ds.root)
        self.commit = commit
        self.lock = lock
        self._writes = 0

    @classmethod
    def create(cls, root: str | Path, features: dict, fps: int, config: dict, robot_type: str | None = None,
               repo_id: str | None = None) -> "EpisodeStore":
        """A new dataset at ``root`` (which must not exist). ``config`` is kept in the commit record."""
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        root = Path(root)
        videos = any(f["dtype"] == "video" for f in features.values())
        ds = LeRobotDataset.create(repo_id or f"local/{root.name}", fps=fps, features=features, root=root,
                                   robot_type=robot_type, use_videos=videos,
                                   metadata_buffer_size=1, data_files_size_in_mb=ONE_FILE_PER_EPISODE_MB,
                                   video_files_size_in_mb=ONE_FILE_PER_EPISODE_MB)
        lock = WriterLock(root)
        if not lock.acquire():
            raise StoreError(f"{root} is being written by process {lock.holder()}")
        (root / LOG_FILE).touch()
        store = cls(ds, Commit(0, 0, 0, {}, None, [], {}, dict(config)), lock)
        store._commit()
        return store

    @classmethod
    def open(cls, root: str | Path, repo_id: str | None = None) -> "EpisodeStore":
        """Continue writing an existing collection (after ``recover``)."""
        root = Path(root)
        commit = read_commit(root)
        if commit is None:
            raise StoreError(f"{root} holds no {COMMIT_FILE} (not a collection written by vla_core.data, "
                             "or one interrupted before its first commit): choose another folder or remove it")
        from lerobot.datasets.lerobot_dataset import LeRobotDataset

        lock = WriterLock(root)
        if not lock.acquire(timeout=30.0):  # a reader holds it for a few seconds at most
            raise StoreError(f"{root} is being written by process {lock.holder()}")
        try:
            recover_locked(root)
            ds = LeRobotDataset.resume(repo_id or f"local/{root.name}", root=root)
        except BaseException:
            lock.release()
            raise
        return cls(ds, read_commit(root), lock)

    # ---- state ---------------------------------------------------------------------
    @property
    def config(self) -> dict:
        return self.commit.config

    @property
    def features(self) -> dict:
        return self.ds.meta.features

    def records(self) -> list[dict]:
        """The committed log: one dict per finished job, kept (with its episode_index) or not."""
        return read_records(self.root, self.commit)

    # ---- writing -------------------------------------------------------------------
    def write(self, ep: EpisodeArrays, record: dict) -> int:
        """Save ``ep`` as the next episode and commit it with ``record``; returns its episode_index."""
        from lerobot.utils.utils import SuppressProgressBars

        if len(ep) < MIN_FRAMES:  # before anything reaches the dataset: it stays as it was
            raise ValueError(f"an episode needs at least {MIN_FRAMES} frames (lerobot's per-episode statistics of a "
                             f"single frame do not aggregate), got {len(ep)}")
        names = keypoint_names_of(self.features)
        if KEYPOINTS in self.features and tuple(ep.keypoint_names) != names:
            raise ValueError(f"episode keypoints {tuple(ep.keypoint_names)} differ from the dataset's {names}")
        n = self._writes
        self._writes += 1
        try:
            for frame in episode_frames(ep, self.features):
                self.ds.add_frame(frame)
        except BaseException:
            self.ds.clear_episode_buffer()  # nothing of a rejected episode may reach the next one
            raise
        with SuppressProgressBars():
            self.ds.save_episode()
        _fault("saved", n)
        # Footers now, so every file this episode wrote is complete (lerobot writes them in finalize()).
        self.ds.writer.close_writer()
        self.ds.meta._close_writer()  # no public flush in lerobot 0.6.1; finalize() would end the session
        _fault("closed", n)
        index = self.commit.episodes
        self._log({**record, "kept": True, "episode_index": index, "length": len(ep)})
        self.commit.episodes += 1
        self.commit.frames += len(ep)
        latest = self.ds.meta.latest_episode or {}  # this episode's file indices per stream
        for key, value in latest.items():
            if key.endswith("/chunk_index"):
                stream = key[: -len("/chunk_index")]
                self.commit.last_files[stream] = [_scalar(value), _scalar(latest[f"{stream}/file_index"])]
        self._commit()
        return index

    def skip(self, record: dict) -> None:
        """Log a finished job whose episode is not kept (so a resume does not run it again)."""
        self._log({**record, "kept": False, "episode_index": None})
        self._commit()

    def _log(self, record: dict) -> None:
        with open(self.root / LOG_FILE, "ab") as f:
            f.seek(self.commit.log_bytes)
            f.truncate()
            f.write((json.dumps(record) + "\n").encode())
            self.commit.log_bytes = f.tell()

    def _commit(self) -> None:
        meta = self.root / "meta"
        self.commit.info = json.loads((meta / "info.json").read_text())
        self.commit.stats = _json_or_none(meta / "stats.json") if self.commit.episodes else None
        tasks = self.ds.meta.tasks
        self.commit.tasks = [] if tasks is None else [str(t) for t in tasks.sort_values("task_index").index]
        _write_atomic(self.root / COMMIT_FILE, json.dumps(asdict(self.commit)))

    def close(self) -> None:
        """End the writing session (lerobot's finalize; everything is already committed)."""
        try:
            self.ds.finalize()
        finally:
            self.lock.release()


__all__ = ["Commit", "EpisodeStore", "StoreError", "WriterLock", "committed_snapshot", "read_commit", "recover"]
