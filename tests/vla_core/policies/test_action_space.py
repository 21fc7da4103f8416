"""The model's relative action space: exact round trip, sign-free quaternions, motion cue."""

import numpy as np
import torch

from vla_core.policies.action_space import from_model, motion_cue, rot6, to_model


def random_chunk(b=6, h=5, d=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, h, 4, generator=g)
    a = torch.cat([torch.randn(b, h, d - 8, generator=g), torch.randn(b, h, 3, generator=g),
                   q / q.norm(dim=-1, keepdim=True), torch.rand(b, h, 1, generator=g)], dim=-1)
    s = torch.randn(b, 18, generator=g)
    s[:, 11:15] /= s[:, 11:15].norm(dim=-1, keepdim=True)
    return a, s


def test_round_trip_is_exact_for_both_layouts():
    for d in (10, 8):
        a, s = random_chunk(d=d)
        back = from_model(to_model(a, s), s)
        assert torch.allclose(back[..., :-5], a[..., :-5], atol=1e-5)
        assert torch.allclose((back[..., -5:-1] * a[..., -5:-1]).sum(-1).abs(), torch.ones(6, 5), atol=1e-5)


def test_quaternion_sign_does_not_change_the_target():
    a, s = random_chunk()
    flipped_a, flipped_s = a.clone(), s.clone()
    flipped_a[..., 5:9] *= -1
    flipped_s[:, 11:15] *= -1
    y = to_model(a, s)
    assert (y[..., 5] >= 0).all()
    assert torch.allclose(to_model(flipped_a, flipped_s), y, atol=1e-6)
    assert torch.allclose(rot6(flipped_s[:, 11:15]), rot6(s[:, 11:15]))


def test_holding_the_current_pose_is_zero_offset_and_identity():
    a, s = random_chunk()
    a[..., 2:5] = s[:, None, 8:11]
    a[..., 5:9] = s[:, None, 11:15]
    y = to_model(a, s)
    assert torch.allclose(y[..., 2:5], torch.zeros(6, 5, 3), atol=1e-6)
    assert torch.allclose(y[..., 5:9], torch.tensor([1.0, 0, 0, 0]).expand(6, 5, 4), atol=1e-6)


def test_motion_cue_is_base_frame_velocity():
    prev = np.zeros(18)
    prev[17] = np.pi / 2  # facing world +y
    now = prev.copy()
    now[16], now[17], now[10], now[7] = 0.1, np.pi / 2 + 0.05, 0.02, -0.01
    m = motion_cue(now, prev, 0.5)
    assert np.allclose(m, [0.2, 0.0, 0.1, 0.0, 0.0, 0.04, -0.02], atol=1e-6)
    assert not motion_cue(now, prev, 0.0).any()
    wrap = prev.copy()
    wrap[17], now[17] = np.pi - 0.01, -np.pi + 0.01  # across ±π: a small turn, not a full one
    assert abs(motion_cue(now, wrap, 1.0)[2] - 0.02) < 1e-6
