"""Oracle reward programs from real kitchen_r scenes: valid specs naming the right keypoints."""

import numpy as np

from sim.envs.kitchen_r.env import KitchenREnv
from sim.envs.kitchen_r.programs import oracle_program
from sim.envs.kitchen_r.tasks import tasks_for
from vla_core.plans.subtask import Subtask
from vla_core.steering.programs import parse_program


def test_oracle_programs_parse_and_name_the_scene():
    env = KitchenREnv()
    task = tasks_for("train", "pick_place")[0]
    obs = env.reset(0, task)
    steps = env.ground_truth_plan()
    pick = next(s for s in steps if s.kind == "pick")
    spec = oracle_program(obs, pick, support_height=0.0)
    prog = parse_program(spec)  # validated like any program
    assert pick.target in prog.keypoints and [s.until for s in prog.stages] == [{"gripper": "closed"}, None]
    kinds = [t.type for t in prog.stages[0].terms]
    assert kinds[0] == "approach" and "above_surface" in kinds
    # every keep-out names an object near the way, never the target itself
    for t in prog.stages[0].terms:
        if t.type == "keep_out_sphere":
            assert t.args["center"]["keypoint"] not in (pick.target, pick.dest)
    place = next(s for s in steps if s.kind == "place")
    assert place.dest in parse_program(oracle_program(obs, place)).keypoints
    assert oracle_program(obs, Subtask("navigate", "table")) is None
    light = parse_program(oracle_program(obs, Subtask("switch_on", "light")))
    assert light.keypoints == ("light_handle",)
    # and a program built here scores a trajectory (B, T, 3) in the base frame
    kp = {k: np.asarray(obs.keypoint(k), np.float32) for k in prog.keypoints}
    import torch

    traj = torch.as_tensor(np.repeat(obs.proprio.ee_pos[None, None], 8, axis=1), dtype=torch.float32)
    r = prog.reward(traj, {k: torch.as_tensor(v) for k, v in kp.items()}, torch.zeros(1, 8))
    assert r.shape == (1,) and torch.isfinite(r).all()
    env.close()
