import imageio
import numpy as np
import pytest

from vla_core.eval.video import VideoWriter, tile_frames, write_video


def frames(n: int, h: int = 48, w: int = 64) -> list[np.ndarray]:
    # Distinct solid-ish frames so the encoder can't collapse them.
    return [np.full((h, w, 3), (i * 20) % 256, dtype=np.uint8) for i in range(n)]


def read_back(path) -> list[np.ndarray]:
    with imageio.get_reader(path) as r:
        return [np.asarray(f) for f in r]


def test_write_video_frame_count(tmp_path):
    path = tmp_path / "ep.mp4"
    assert write_video(path, frames(12), fps=10) == 12
    back = read_back(path)
    assert len(back) == 12
    assert back[0].shape == (48, 64, 3)
    # Lossy, but a solid grey level survives to within a few counts.
    assert abs(int(back[5].mean()) - 100) < 5


def test_odd_size_is_padded_not_silently_broken(tmp_path):
    path = tmp_path / "odd.mp4"
    write_video(path, frames(3, h=33, w=45), fps=10)
    back = read_back(path)
    assert len(back) == 3 and back[0].shape == (34, 46, 3)


def test_wrong_frames_raise(tmp_path):
    with VideoWriter(tmp_path / "a.mp4") as w:
        with pytest.raises(ValueError, match="uint8"):
            w.append(np.zeros((48, 64, 3), dtype=np.float32))
        with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
            w.append(np.zeros((48, 64), dtype=np.uint8))
        w.append(frames(1)[0])
        with pytest.raises(ValueError, match="size changed"):
            w.append(np.zeros((32, 32, 3), dtype=np.uint8))


def test_closes_file_on_exception(tmp_path):
    path = tmp_path / "crash.mp4"
    with pytest.raises(RuntimeError):
        with VideoWriter(path, fps=10) as w:
            for f in frames(5):
                w.append(f)
            raise RuntimeError("episode crashed")
    assert w._writer is None
    assert len(read_back(path)) == 5  # finalized, playable


def test_tile_frames():
    a = np.zeros((4, 3, 3), np.uint8)
    b = np.ones((4, 5, 3), np.uint8)
    t = tile_frames([a, b])
    assert t.shape == (4, 8, 3)
    assert (t[:, 3:] == 1).all() and (t[:, :3] == 0).all()
    with pytest.raises(ValueError, match="height"):
        tile_frames([a, np.zeros((5, 3, 3), np.uint8)])
    with pytest.raises(ValueError):
        tile_frames([])
