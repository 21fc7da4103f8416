"""Datasets of robot episodes in LeRobot v3 format, written and read with lerobot's LeRobotDataset.

- ``features``: the column schema (state, keypoints, action, plan labels, optional videos)
- ``recorder``: ``EpisodeBuffer`` / ``EpisodeRecorder`` — RuntimeLoop ``on_step`` hooks
- ``store``: ``EpisodeStore`` — crash-safe writing (one commit per episode), ``recover``
- ``reader``: ``read_episodes`` / ``open_dataset``
- ``vla_core.collect``: the CLI that records expert rollouts
"""

from vla_core.data.episode import EpisodeArrays
from vla_core.data.reader import open_dataset, read_episodes
from vla_core.data.store import EpisodeStore, recover

__all__ = ["EpisodeArrays", "EpisodeStore", "open_dataset", "read_episodes", "recover"]
