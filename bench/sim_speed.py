"""kitchen_r simulation rates: physics steps/s, env steps/s (10 Hz control incl. IK) with
privileged keypoints, with depth keypoints (one 224² camera through open3d), and with
one 224² RGB camera. Shadows and multisampling are off in the scene."""

from __future__ import annotations

import time

import mujoco
import numpy as np


def _rate(fn, seconds: float) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn()
        n += 1
    return n / (time.perf_counter() - start)


def measure(seconds: float = 3.0) -> dict:
    from sim.envs.kitchen_r.env import KitchenREnv
    from sim.envs.kitchen_r.tasks import tasks_for

    task = tasks_for("test", "pick_place")[0]
    out = {}
    env = KitchenREnv()
    env.reset(0, task)
    out["physics_steps_per_s"] = _rate(lambda: mujoco.mj_step(env.model, env.data), seconds)
    env.close()
    for label, kwargs in (("env_steps_per_s_privileged_keypoints", {}),
                          ("env_steps_per_s_depth_keypoints_224", {"obs_mode": "depth"}),
                          ("env_steps_per_s_rgb_224", {"cameras": ("head",)})):
        env = KitchenREnv(**kwargs)
        obs = env.reset(0, task)
        action = np.concatenate([[0.2, 0.3], obs.proprio.ee_pos, obs.proprio.ee_quat, [0.0]])
        out[label] = _rate(lambda: env.step(action), seconds)
        env.close()
    out["physics_substeps_per_env_step"] = env.n_substeps
    return out
