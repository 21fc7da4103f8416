"""Observation and plan encoders → one conditioning vector for the denoiser.

Tokens: one for the plan (a sentence embedding of a text plan, or a Path3D through a
small point encoder), one for proprio, one per named keypoint (its position in the
base frame, its offset from the EE, and the embedding of its name, so that the plan
token can attend to 'the red mug' by name), optionally one per RGB camera. A small
transformer mixes them; the plan and proprio outputs form the condition.
"""

from __future__ import annotations

import torch
from torch import nn

from vla_core.policies.action_space import MOTION_GROUPS, PROPRIO_FEATURES, motion_mask, proprio_features
from vla_core.policies.grounding import N_TARGETS
from vla_core.policies.normalizer import RangeNormalizer, StdNormalizer

PLAN_KINDS = ("instruction", "motion", "path")
KP_SCALE = 2.0  # m: base-frame keypoints are divided by this
REL_SCALE = 0.5  # m: keypoint − EE offsets are divided by this and clipped to ±4
FINE_SCALE = 0.05  # m: a named target's offset again at this scale (clipped to ±1): grasps need millimetres
LANDMARK_FINE = 0.2  # m: the same for the offset to a named map landmark (docking needs centimetres)
TARGET_FEATURES = 10  # per named keypoint: keypoint_features (7) + fine offset (3)
LANDMARK_FEATURES = 7


class PathEncoder(nn.Module):
    """(B, N, 4) waypoints (xyz + gripper, base frame) → (B, d)."""

    def __init__(self, n_points: int, d: int):
        super().__init__()
        self.norm = RangeNormalizer(4)
        self.net = nn.Sequential(nn.Linear(4 * n_points, 2 * d), nn.Mish(), nn.Linear(2 * d, d))

    def forward(self, path: torch.Tensor) -> torch.Tensor:
        return self.net(self.norm(path).flatten(1))


class SmallCNN(nn.Module):
    """(B, 3, S, S) uint8-range RGB → (B, d); for GPU runs with cameras."""

    def __init__(self, d: int):
        super().__init__()
        chans = (3, 32, 64, 128, 128)
        layers = []
        for a, b in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(a, b, 3, stride=2, padding=1), nn.GroupNorm(8, b), nn.Mish()]
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(chans[-1], d))

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.net(img.float() / 127.5 - 1.0)


def keypoint_features(kp: torch.Tensor, valid: torch.Tensor, ee: torch.Tensor) -> torch.Tensor:
    """kp (B, K, 3), valid (B, K) bool, ee (B, 3) → (B, K, 7): per keypoint its base-frame
    position, offset from the EE (clipped) and a validity flag; all zero where invalid."""
    rel = ((kp - ee[:, None]) / REL_SCALE).clamp(-4, 4)
    return torch.cat([kp / KP_SCALE, rel, valid[..., None].float()], dim=-1) * valid[..., None]


def target_features(feat: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The keypoints a plan names (policies.grounding) as explicit features: rows of
    ``keypoint_features`` (B, K, 7) picked by target (B, T) long (-1 none), each with its EE
    offset again at FINE_SCALE → (B, TARGET_FEATURES·T)."""
    picked = torch.gather(feat, 1, target.clamp_min(0)[..., None].expand(-1, -1, feat.shape[-1]))
    fine = (picked[..., 3:6] * (REL_SCALE / FINE_SCALE)).clamp(-1, 1)  # rel is exact inside ±2 m
    return (torch.cat([picked, fine], dim=-1) * (target >= 0)[..., None]).flatten(1)


def landmark_features(state: torch.Tensor, landmark: torch.Tensor) -> torch.Tensor:
    """The map pose a plan names ('navigate to the counter', a fixture's dock) seen from the
    base: state (B, 18) (world base x, y, yaw at 15:18), landmark (B, 4) its world x, y, yaw and
    a validity flag → (B, 7): offset in the base frame (/KP_SCALE clipped ±4, and /LANDMARK_FINE
    clipped ±1), sin/cos of its yaw relative to the base's, the flag; all zero where there is none."""
    yaw = state[:, 17]
    dx, dy = landmark[:, 0] - state[:, 15], landmark[:, 1] - state[:, 16]
    c, s = yaw.cos(), yaw.sin()
    rel = torch.stack([c * dx + s * dy, -s * dx + c * dy], dim=-1)
    dyaw = landmark[:, 2] - yaw
    out = torch.cat([(rel / KP_SCALE).clamp(-4, 4), (rel / LANDMARK_FINE).clamp(-1, 1), dyaw.sin()[:, None],
                     dyaw.cos()[:, None], torch.ones_like(dx)[:, None]], dim=-1)
    return out * landmark[:, 3:4]


class ObsPlanEncoder(nn.Module):
    def __init__(self, keypoint_name_emb: torch.Tensor, text_dim: int, d: int = 128, layers: int = 3,
                 heads: int = 4, path_points: int = 8, cameras: tuple[str, ...] = (), grounded: bool = False,
                 motion_cue: tuple[str, ...] = tuple(MOTION_GROUPS)):
        super().__init__()
        # not persistent: which cue a model sees is its config, and older checkpoints load unchanged
        self.register_buffer("motion_mask", motion_mask(motion_cue), persistent=False)
        self.register_buffer("kp_names", keypoint_name_emb.float())  # (K, text_dim)
        self.state_norm = StdNormalizer(PROPRIO_FEATURES)
        self.proprio = nn.Sequential(nn.Linear(PROPRIO_FEATURES, d), nn.Mish(), nn.Linear(d, d))
        self.kp_feat = nn.Sequential(nn.Linear(7, d), nn.Mish(), nn.Linear(d, d))
        self.kp_name = nn.Linear(text_dim, d)
        self.text = nn.Sequential(nn.Linear(text_dim, d), nn.Mish(), nn.Linear(d, d))
        self.path = PathEncoder(path_points, d)
        self.kind = nn.Embedding(len(PLAN_KINDS), d)
        self.role = nn.Embedding(3, d)  # plan, proprio, keypoint (+ camera)
        self.grounded = grounded
        if grounded:  # added to the proprio token; last layer zero so a warm start begins where it was
            self.target = nn.Sequential(nn.Linear(TARGET_FEATURES * N_TARGETS + LANDMARK_FEATURES, d), nn.Mish(),
                                        nn.Linear(d, d))
            nn.init.zeros_(self.target[-1].weight)
            nn.init.zeros_(self.target[-1].bias)
            self.kp_target = nn.Parameter(torch.zeros(N_TARGETS, d))  # marks the named keypoints' tokens
        self.cameras = tuple(cameras)
        self.cnn = nn.ModuleDict({c: SmallCNN(d) for c in self.cameras})
        layer = nn.TransformerEncoderLayer(d, heads, 4 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.mixer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out_dim = 2 * d

    def proprio_features(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, PROPRIO_FEATURES) of batch state (B, 18) and motion (B, 7), the cue masked to the groups
        this model sees (what ``state_norm`` is fitted on)."""
        return proprio_features(batch["state"], batch["motion"] * self.motion_mask)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """batch: state (B, 18), motion (B, 7) (action_space.motion_cue), keypoints (B, K, 3) (invalid rows 0), keypoints_valid (B, K),
        plan_kind (B,) long, plan_text (B, text_dim), plan_path (B, N, 4), rgb.<cam> (B, 3, S, S),
        target (B, N_TARGETS) long keypoint indices the plan names and landmark (B, 4) the map pose it
        names (world x, y, yaw, valid) — both for grounded models; -1 / all-zero for none.
        Returns (B, out_dim)."""
        state = self.proprio_features(batch)
        b = state.shape[0]
        p_tok = self.proprio(self.state_norm(state)) + self.role.weight[1]
        valid = batch["keypoints_valid"] > 0.5
        feat = keypoint_features(batch["keypoints"], valid, batch["state"][:, 8:11])
        k_tok = self.kp_feat(feat) + self.kp_name(self.kp_names)[None] + self.role.weight[2]
        if self.grounded:
            t = batch["target"]
            p_tok = p_tok + self.target(torch.cat([target_features(feat, t),
                                                   landmark_features(batch["state"], batch["landmark"])], dim=-1))
            # (B, K, N_TARGETS) one-hot of which keypoints the plan names
            hot = (t[:, None, :] == torch.arange(feat.shape[1], device=t.device)[None, :, None]).float()
            k_tok = k_tok + hot @ self.kp_target
        kind = batch["plan_kind"]
        text_tok = self.text(batch["plan_text"])
        path_tok = self.path(batch["plan_path"])
        is_path = (kind == PLAN_KINDS.index("path"))[:, None]
        plan_tok = torch.where(is_path, path_tok, text_tok) + self.kind(kind) + self.role.weight[0]
        tokens = [plan_tok[:, None], p_tok[:, None], k_tok]
        masks = [torch.zeros(b, 2, dtype=torch.bool, device=state.device), ~valid]
        for cam in self.cameras:
            tokens.append((self.cnn[cam](batch[f"rgb.{cam}"]) + self.role.weight[2])[:, None])
            masks.append(torch.zeros(b, 1, dtype=torch.bool, device=state.device))
        h = self.mixer(torch.cat(tokens, dim=1), src_key_padding_mask=torch.cat(masks, dim=1))
        return torch.cat([h[:, 0], h[:, 1]], dim=-1)
