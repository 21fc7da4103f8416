"""MP4 episode recording (H.264 through imageio-ffmpeg)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

import numpy as np


class VideoWriter:
    """Context manager appending (H, W, 3) uint8 RGB frames to an H.264 MP4.

    Odd H or W are padded by one edge pixel (H.264 4:2:0 needs even sizes).

    The ffmpeg process is started lazily on the first frame so a writer that
    never receives frames leaves no empty/corrupt file behind.
    """

    def __init__(self, path: str | Path, fps: float = 20.0, quality: float = 7.0) -> None:
        self.path = Path(path)
        self.fps = fps
        self.quality = quality  # imageio scale 0-10, higher = better/larger
        self.n_frames = 0
        self._shape: tuple[int, ...] | None = None
        self._writer = None

    def append(self, frame: np.ndarray) -> None:
        """Append one frame; raises ValueError on wrong dtype, rank or a size change."""
        if not isinstance(frame, np.ndarray) or frame.dtype != np.uint8:
            got = frame.dtype if isinstance(frame, np.ndarray) else type(frame).__name__
            raise ValueError(f"frame must be a uint8 ndarray, got {got}")
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"frame must have shape (H, W, 3), got {frame.shape}")
        if self._shape is None:
            self._shape = frame.shape
            self._open()
        elif frame.shape != self._shape:
            raise ValueError(f"frame size changed from {self._shape} to {frame.shape}")
        h, w = frame.shape[:2]
        if h % 2 or w % 2:
            # H.264/yuv420p needs even sizes; ffmpeg otherwise fails *silently* and
            # leaves an unreadable file. Replicate the last row/column instead.
            frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        self._writer.append_data(frame)
        self.n_frames += 1

    def _open(self) -> None:
        import imageio

        self.path.parent.mkdir(parents=True, exist_ok=True)
        # macro_block_size=1: keep the exact frame size instead of padding to 16.
        self._writer = imageio.get_writer(
            self.path, fps=self.fps, codec="libx264", macro_block_size=1, quality=self.quality
        )

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()  # always finalize, so a crashed episode still leaves a playable MP4


def write_video(path: str | Path, frames: Iterable[np.ndarray], fps: float = 20.0) -> int:
    """Write all frames to an MP4; returns the number of frames written."""
    with VideoWriter(path, fps=fps) as w:
        for frame in frames:
            w.append(frame)
        return w.n_frames


def tile_frames(frames: list[np.ndarray]) -> np.ndarray:
    """Camera views side by side: list of (H, W_i, 3) -> (H, sum W_i, 3)."""
    if not frames:
        raise ValueError("tile_frames needs at least one frame")
    if any(f.ndim != 3 or f.shape[2] != 3 for f in frames):
        raise ValueError(f"frames must be (H, W, 3), got {[f.shape for f in frames]}")
    heights = {f.shape[0] for f in frames}
    if len(heights) != 1:
        raise ValueError(f"all frames must share a height, got {sorted(heights)}")
    return np.concatenate(frames, axis=1)
