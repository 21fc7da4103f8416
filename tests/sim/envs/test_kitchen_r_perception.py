"""Depth + segmentation keypoints (open3d back-projection) against privileged keypoints."""

import functools
import os

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")

import mujoco  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from sim.envs.kitchen_r import catalog as C  # noqa: E402
from sim.envs.kitchen_r.env import KEYPOINT_NAMES, KitchenREnv  # noqa: E402
from sim.envs.kitchen_r.perception import HANDLE_RADIUS, DepthKeypointer, keypoint_geoms  # noqa: E402

SEEDS = (0, 1, 2, 3)
TOL = 0.04  # m; the centroid of the visible surface sits ~r/2 in front of a body's centre
MOVABLE = {o.name for o in C.OBJECTS} | {r.name for r in C.RECEPTACLES}


@pytest.fixture(scope="module")
def keypointer(env):
    kp = DepthKeypointer(env.model, "head", 224, KEYPOINT_NAMES)
    yield kp
    kp.close()


def at_area(env: KitchenREnv, seed: int, area: str) -> None:
    """Reset, then put the base at ``area``'s work pose (arm stays in HOME)."""
    env.reset(seed)
    env.data.qpos[env.robot.base_qpos] = C.AREA_BY_NAME[area].pose
    mujoco.mj_forward(env.model, env.data)


@functools.lru_cache(maxsize=1)
def views() -> tuple[tuple[int, str], ...]:
    """(seed, area) pairs where the episode has objects on that area's surface."""
    e = KitchenREnv()
    out = []
    for seed in SEEDS:
        e.reset(seed)
        areas = sorted({C.SURFACE_BY_NAME[p.surface].area for p in e.layout.objects.values()})
        out += [(seed, a) for a in areas]
    e.close()
    return tuple(out)


def object_errors(env, kp, seed, area):
    """{name: error in metres} for movable keypoints placed on ``area``'s surface; NaN = not seen."""
    at_area(env, seed, area)
    depth_kp, priv = kp(env.data), env.keypoints_world()
    on_area = [n for n, p in env.layout.objects.items() if C.SURFACE_BY_NAME[p.surface].area == area]
    return {n: float(np.linalg.norm(depth_kp[KEYPOINT_NAMES.index(n)] - priv[KEYPOINT_NAMES.index(n)]))
            for n in on_area}


def test_visible_objects_match_privileged(env, keypointer):
    seen = 0
    for seed, area in views():
        errs = object_errors(env, keypointer, seed, area)
        finite = {n: e for n, e in errs.items() if np.isfinite(e)}
        # the head camera sees the work surface past the arm: most placed objects are in view
        assert len(finite) >= max(1, len(errs) - 1), (seed, area, errs)
        bad = {n: e for n, e in finite.items() if e > TOL}
        assert not bad, (seed, area, bad)
        seen += len(finite)
    assert seen >= 8


def test_wrong_camera_convention_breaks_it(env, keypointer, monkeypatch):
    """Guards the test above: MuJoCo's camera axes used as if they were OpenCV's must fail."""
    seed, area = views()[0]
    monkeypatch.setattr(DepthKeypointer, "CV_FROM_MJ", np.eye(3))
    errs = [e for e in object_errors(env, keypointer, seed, area).values() if np.isfinite(e)]
    assert errs and min(errs) > 0.2


def test_hidden_objects_are_nan(env, keypointer):
    seed, area = views()[0]
    at_area(env, seed, area)
    name = next(n for n, p in env.layout.objects.items() if C.SURFACE_BY_NAME[p.surface].area == area)
    k = KEYPOINT_NAMES.index(name)
    assert np.isfinite(keypointer(env.data)[k]).all()
    # not in this episode: parked far away
    parked = keypointer(env.data)[[KEYPOINT_NAMES.index(n) for n in MOVABLE - set(env.layout.objects)]]
    assert np.isnan(parked).all()
    # behind the robot, 1 m back and floating at table height
    adr = env.model.joint(f"{name}_joint").qposadr[0]
    env.data.qpos[adr:adr + 3] = env.robot.base_to_world(env.data, np.array([-1.0, 0.0, 0.9]))
    mujoco.mj_forward(env.model, env.data)
    assert np.isnan(keypointer(env.data)[k]).all()
    assert keypointer.last_counts[k] == 0


def test_handle_geoms_are_the_handle_not_the_door(env):
    d = mujoco.MjData(env.model)
    mujoco.mj_forward(env.model, d)
    for f in C.ALL_FIXTURES:
        site = env.model.site(f.handle_site)
        geoms = keypoint_geoms(env.model, f"{f.name}_handle", d)
        body_geoms = np.flatnonzero(env.model.geom_bodyid == site.bodyid[0])
        assert geoms.size and set(geoms) <= set(body_geoms)
        if (np.linalg.norm(d.geom_xpos[body_geoms] - d.site_xpos[site.id], axis=1) > HANDLE_RADIUS).any():
            assert len(geoms) < len(body_geoms), f.name


def test_depth_observation_is_keypointer_in_base_frame():
    env = KitchenREnv(obs_mode="depth")
    seed, area = views()[0]
    at_area(env, seed, area)
    obs = env.observe()
    kp = DepthKeypointer(env.model, "head", env.image_size, KEYPOINT_NAMES)
    expected = env.robot.world_to_base(env.data, kp(env.data))
    assert obs.keypoints.shape == (len(KEYPOINT_NAMES), 3)
    np.testing.assert_allclose(obs.keypoints, expected, atol=1e-5)
    assert np.isfinite(expected).all(axis=1).sum() >= 2
    assert kp.last_depth.shape == (224, 224) and kp.last_seg.shape == (224, 224, 2)
    kp.close()
    env.close()
