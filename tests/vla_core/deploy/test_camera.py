"""sensor_msgs/Image-shaped frames ↔ numpy: encodings, row padding, byte order, and clear refusals."""

import sys

import numpy as np
import pytest

from vla_core.deploy.camera import (CameraIntrinsics, ImageFrame, depth_from_frame, frame_from_depth, frame_from_rgb,
                                    rgb_from_frame)

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (4, 5, 3), dtype=np.uint8)


def test_rgb_round_trip_and_bgr_rgba_padding():
    np.testing.assert_array_equal(rgb_from_frame(frame_from_rgb(RGB)), RGB)
    bgra = np.concatenate([RGB[..., ::-1], np.full((4, 5, 1), 255, np.uint8)], axis=2)
    padded = np.zeros((4, 5 * 4 + 3), np.uint8)  # 3 bytes of row padding
    padded[:, :20] = bgra.reshape(4, 20)
    got = rgb_from_frame(ImageFrame(4, 5, "bgra8", 23, padded.tobytes()))
    np.testing.assert_array_equal(got, RGB)
    assert got.dtype == np.uint8 and got.flags.c_contiguous


def test_depth_32fc1_and_16uc1_in_metres_with_no_reading_as_zero():
    d = np.array([[0.5, np.nan], [np.inf, 1.25]], np.float32)
    np.testing.assert_array_equal(depth_from_frame(frame_from_depth(d)), [[0.5, 0.0], [0.0, 1.25]])
    mm = np.array([[500, 0], [1250, 65535]], np.uint16)
    big = mm.astype(">u2").tobytes()
    got = depth_from_frame(ImageFrame(2, 2, "16UC1", 4, big, is_bigendian=True))
    np.testing.assert_allclose(got, [[0.5, 0.0], [1.25, 65.535]], rtol=1e-6)
    little = depth_from_frame(ImageFrame(2, 2, "16UC1", 4, mm.astype("<u2").tobytes(), is_bigendian=False))
    np.testing.assert_array_equal(got, little)
    assert sys.byteorder in ("little", "big")


@pytest.mark.parametrize("frame, message", [
    (ImageFrame(4, 5, "mono8", 5, bytes(20)), r"encoding 'mono8' is not read"),
    (ImageFrame(4, 5, "rgb8", 14, bytes(56)), r"step 14 is shorter than a 5-pixel row \(15 bytes\)"),
    (ImageFrame(4, 5, "rgb8", 15, bytes(59)), r"59 data bytes, expected step\*height = 60"),
    (ImageFrame(0, 5, "rgb8", 15, b""), r"image size 5x0 is not a camera frame"),
    (ImageFrame(10**6, 5, "rgb8", 15, b""), r"not a camera frame"),
])
def test_bad_rgb_frames_are_refused_with_the_reason(frame, message):
    with pytest.raises(ValueError, match=message):
        rgb_from_frame(frame)


def test_bad_depth_frames_and_writers():
    with pytest.raises(ValueError, match=r"depth image encoding 'rgb8' is not read"):
        depth_from_frame(frame_from_rgb(RGB))
    with pytest.raises(ValueError, match=r"RGB must be \(H, W, 3\) uint8"):
        frame_from_rgb(RGB.astype(np.float32))
    with pytest.raises(ValueError, match=r"depth must be \(H, W\)"):
        frame_from_depth(np.zeros((2, 2, 1)))


def test_camera_info_intrinsics_and_size_check():
    info = CameraIntrinsics.from_camera_info(4, 5, [100, 0, 2.5, 0, 101, 2, 0, 0, 1])
    assert (info.fx, info.fy, info.cx, info.cy) == (100, 101, 2.5, 2)
    info.check(RGB)
    with pytest.raises(ValueError, match=r"image is 5x4 but its camera info is for 6x4"):
        CameraIntrinsics.from_camera_info(4, 6, [100, 0, 2.5, 0, 101, 2, 0, 0, 1]).check(RGB)
    with pytest.raises(ValueError, match=r"uncalibrated"):
        CameraIntrinsics.from_camera_info(4, 5, [0] * 9)
    with pytest.raises(ValueError, match=r"K must have 9 values"):
        CameraIntrinsics.from_camera_info(4, 5, [1, 2, 3])
