"""Camera frames, ROS-free: ``sensor_msgs/Image``-shaped fields ↔ the numpy arrays an Observation holds.

``ImageFrame`` mirrors ``sensor_msgs/Image`` (height, width, encoding, is_bigendian, step, data) and
``CameraIntrinsics`` the parts of ``sensor_msgs/CameraInfo`` we use, so the agent node copies message
fields in and never interprets bytes itself. Anything that does not add up (row stride, byte count,
an encoding we do not read, an image that does not match its camera info) is a ``ValueError`` naming
what is wrong; a dropped frame is better than a misread one.

RGB → (H, W, 3) uint8. Depth → (H, W) float32 metres, with "no reading" as 0.0: REP 118 marks it NaN
(32FC1) or 0 (16UC1, millimetres); one convention downstream, and a NaN never reaches the policy.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

# encoding → (channels, dtype); byte order of multi-byte types comes from is_bigendian
RGB_ENCODINGS = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4}
DEPTH_ENCODINGS = {"32FC1": np.dtype(np.float32), "16UC1": np.dtype(np.uint16)}
MAX_SIDE = 8192  # px: anything larger is a corrupt header, not a camera


@dataclass(frozen=True)
class ImageFrame:
    """The fields of a ``sensor_msgs/Image``."""

    height: int
    width: int
    encoding: str
    step: int  # bytes per row (may include padding)
    data: bytes
    is_bigendian: bool = False


@dataclass(frozen=True)
class CameraIntrinsics:
    """From ``sensor_msgs/CameraInfo``: the image size it describes and K's focal lengths / centre (px)."""

    height: int
    width: int
    fx: float
    fy: float
    cx: float
    cy: float

    @classmethod
    def from_camera_info(cls, height: int, width: int, k) -> CameraIntrinsics:
        """``k``: CameraInfo.k, the row-major (9,) 3×3 matrix [fx 0 cx; 0 fy cy; 0 0 1]."""
        k = np.asarray(k, dtype=np.float64).reshape(-1)
        if k.shape != (9,):
            raise ValueError(f"camera info K must have 9 values, got {k.shape[0]}")
        if not np.all(np.isfinite(k)) or k[0] <= 0 or k[4] <= 0:
            raise ValueError(f"camera info K must be finite with fx, fy > 0 (an uncalibrated camera has K = 0), "
                             f"got fx={k[0]}, fy={k[4]}")
        _check_size(int(height), int(width))
        return cls(int(height), int(width), float(k[0]), float(k[4]), float(k[2]), float(k[5]))

    def check(self, image: np.ndarray) -> None:
        """The frame must be the size the calibration is for (a resized stream needs its own info)."""
        if image.shape[:2] != (self.height, self.width):
            raise ValueError(f"image is {image.shape[1]}x{image.shape[0]} but its camera info is for "
                             f"{self.width}x{self.height}")


def _check_size(height: int, width: int) -> None:
    if not (0 < height <= MAX_SIDE and 0 < width <= MAX_SIDE):
        raise ValueError(f"image size {width}x{height} is not a camera frame (1..{MAX_SIDE} px a side)")


def _pixels(frame: ImageFrame, channels: int, dtype: np.dtype) -> np.ndarray:
    """(H, W, channels) view of ``frame.data`` in native byte order, row padding dropped."""
    h, w = int(frame.height), int(frame.width)
    _check_size(h, w)
    row = w * channels * dtype.itemsize
    if frame.step < row:
        raise ValueError(f"{frame.encoding}: step {frame.step} is shorter than a {w}-pixel row ({row} bytes)")
    if len(frame.data) != frame.step * h:
        raise ValueError(f"{frame.encoding}: {len(frame.data)} data bytes, expected step*height = {frame.step * h}")
    rows = np.frombuffer(bytes(frame.data), dtype=np.uint8).reshape(h, frame.step)[:, :row]
    big = dtype.itemsize > 1 and bool(frame.is_bigendian) != (sys.byteorder == "big")
    px = np.ascontiguousarray(rows).view(dtype.newbyteorder(">" if big else "="))
    return px.reshape(h, w, channels).astype(dtype, copy=False)


def rgb_from_frame(frame: ImageFrame) -> np.ndarray:
    """(H, W, 3) uint8 RGB from an rgb8 / bgr8 / rgba8 / bgra8 image (alpha dropped)."""
    channels = RGB_ENCODINGS.get(frame.encoding)
    if channels is None:
        raise ValueError(f"colour image encoding {frame.encoding!r} is not read; use one of {sorted(RGB_ENCODINGS)}")
    px = _pixels(frame, channels, np.dtype(np.uint8))[..., :3]
    return np.ascontiguousarray(px[..., ::-1] if frame.encoding.startswith("bgr") else px)


def depth_from_frame(frame: ImageFrame) -> np.ndarray:
    """(H, W) float32 metres from a 32FC1 (m) or 16UC1 (mm) image; no reading (NaN, ±inf, 0) → 0.0."""
    dtype = DEPTH_ENCODINGS.get(frame.encoding)
    if dtype is None:
        raise ValueError(f"depth image encoding {frame.encoding!r} is not read; use one of {sorted(DEPTH_ENCODINGS)}")
    px = _pixels(frame, 1, dtype)[..., 0]
    depth = px.astype(np.float32) * (np.float32(0.001) if dtype == np.uint16 else np.float32(1.0))
    depth[~np.isfinite(depth) | (depth < 0)] = 0.0
    return depth


def check_rgb(rgb: np.ndarray, label: str = "RGB") -> np.ndarray:
    """``rgb`` if it is (H, W, 3) uint8 (what ``rgb_from_frame`` returns), else a ValueError naming ``label``."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"{label} must be (H, W, 3) uint8, got {rgb.shape} {rgb.dtype}")
    return rgb


def check_depth(depth: np.ndarray, label: str = "depth") -> np.ndarray:
    """``depth`` if it is (H, W) (what ``depth_from_frame`` returns), else a ValueError naming ``label``."""
    if depth.ndim != 2:
        raise ValueError(f"{label} must be (H, W), got {depth.shape}")
    return depth


def frame_from_rgb(rgb: np.ndarray) -> ImageFrame:
    """(H, W, 3) uint8 → an rgb8 frame (what the sim robot publishes)."""
    rgb = check_rgb(np.asarray(rgb))
    h, w, _ = rgb.shape
    return ImageFrame(h, w, "rgb8", 3 * w, np.ascontiguousarray(rgb).tobytes(), sys.byteorder == "big")


def frame_from_depth(depth: np.ndarray) -> ImageFrame:
    """(H, W) float metres → a 32FC1 frame in this machine's byte order."""
    depth = check_depth(np.asarray(depth))
    h, w = depth.shape
    return ImageFrame(h, w, "32FC1", 4 * w, np.ascontiguousarray(depth, dtype=np.float32).tobytes(),
                      sys.byteorder == "big")
