"""The perturbed split: paired scenes, each variant's geometry, and predicates that fail on
touching the obstacle or knocking the clutter."""

import mujoco
import numpy as np
import pytest

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r.env import EnvState
from sim.envs.kitchen_r.layout import Layout, footprint, sample_layout
from sim.envs.kitchen_r.perturb import (CLUTTER, CLUTTER_GAP, KNOCKED, OBSTACLE_BACK, SHIFTED, VARIANTS,
                                        perturb_layout, picked_object)
from sim.envs.kitchen_r.tasks import tasks_for
from vla_core.frames import world_to_base
from vla_core.steering.programs import parse_program

TASKS = tasks_for("test", "pick_place")


def area_frame(layout: Layout, name: str) -> np.ndarray:
    p = layout.objects[name]
    return world_to_base(np.array([p.x, p.y, 0.0]), C.AREA_BY_NAME[C.SURFACE_BY_NAME[p.surface].area].pose)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_variant_changes_only_its_part_of_the_episodes_scene(variant):
    for i, task in enumerate(TASKS[:12]):
        plain = sample_layout(task, np.random.default_rng(i))
        pert = perturb_layout(sample_layout(task, np.random.default_rng(i)), task, variant, np.random.default_rng(i))
        name = picked_object(task)
        assert pert.base == plain.base and pert.fixtures == plain.fixtures and pert.variant == variant
        assert pert.objects[name].surface == plain.objects[name].surface
        kept = {n for n in plain.objects if n != name} & set(pert.objects)
        assert all(pert.objects[n] == plain.objects[n] for n in kept)
        if variant == "shifted":
            fwd, lat = area_frame(pert, name)[:2]
            assert SHIFTED[0][0] <= fwd <= SHIFTED[0][1] and SHIFTED[1][0] <= abs(lat) <= SHIFTED[1][1]
        if variant == "obstacle":
            x, y, z, r = pert.obstacle
            p = pert.objects[name]
            assert np.hypot(x - p.x, y - p.y) == pytest.approx(OBSTACLE_BACK)
            assert z > C.SURFACE_BY_NAME[p.surface].height + 0.2  # in the air, on the way there
        else:
            assert pert.obstacle is None
        if variant == "clutter":
            assert len(pert.watch) == CLUTTER and set(pert.watch) <= set(pert.objects) - set(plain.objects)
            p = pert.objects[name]
            for n in pert.watch:
                q = pert.objects[n]
                gap = np.hypot(q.x - p.x, q.y - p.y) - footprint(n) - footprint(name)
                assert CLUTTER_GAP[0] - 1e-6 <= gap <= CLUTTER_GAP[1] + 1e-6
        # and the draw is deterministic, and survives the layout's JSON form
        again = perturb_layout(sample_layout(task, np.random.default_rng(i)), task, variant, np.random.default_rng(i))
        assert Layout.from_dict(again.to_dict()).to_dict() == pert.to_dict()


def test_unknown_variant_is_rejected(env):
    with pytest.raises(ValueError, match="unknown perturbation"):
        env.set_variant("earthquake")
    with pytest.raises(ValueError, match="no pick-and-place goal"):
        perturb_layout(Layout((0, 0, 0)), tasks_for("test", "knob")[0], "shifted", np.random.default_rng(0))


def test_touching_the_obstacle_fails_the_episode_and_survives_replay(env):
    env.set_variant("obstacle")
    try:
        env.reset(3, TASKS[0])
        x, y, z, r = env.layout.obstacle
        m, d = env.model, env.data
        assert np.allclose(d.mocap_pos[m.body("obstacle").mocapid[0]], (x, y, z))
        assert not env.collided and env.violations() == []
        # drop the picked object onto the obstacle: a contact, whatever touched it
        name = picked_object(env.task)
        adr = m.joint(f"{name}_joint").qposadr[0]
        d.qpos[adr:adr + 3] = (x, y, z + r + 0.06)
        mujoco.mj_forward(m, d)
        hold = env.observe().proprio
        for _ in range(5):  # the arm holds still (an 8-D arm-only action)
            env.step(np.concatenate([hold.ee_pos, hold.ee_quat, [0.0]]))
        assert env.collided and env.violations() == ["touched the obstacle"] and not env.success()
        state = EnvState.from_dict(env.get_state().to_dict())
        env.reset(3, TASKS[0])
        assert not env.collided
        env.reset_to(state)
        assert env.collided
    finally:
        env.set_variant(None)


def test_knocked_clutter_fails_the_episode(env):
    env.set_variant("clutter")
    try:
        env.reset(4, TASKS[1])
        assert len(env.layout.watch) == CLUTTER and env.violations() == []
        n = next(iter(env.layout.watch))
        adr = env.model.joint(f"{n}_joint").qposadr[0]
        env.data.qpos[adr] += KNOCKED + 0.01
        mujoco.mj_forward(env.model, env.data)
        assert env.violations() == [f"knocked the {n.replace('_', ' ')}"]
    finally:
        env.set_variant(None)


def test_oracle_program_keeps_the_hand_off_the_obstacle(env):
    from sim.envs.kitchen_r.programs import HAND_MARGIN
    from vla_core.plans import Subtask

    env.set_variant("obstacle")
    try:
        obs = env.reset(5, TASKS[2])
        pick = next(s for s in env.ground_truth_plan() if s.kind == "pick")
        prog = parse_program(env.reward_program(pick, obs))
        x, y, z, r = env.layout.obstacle
        centre = world_to_base(np.array([x, y, z]), obs.proprio.base_pose)
        for stage in prog.stages:  # reach and lift both keep out of it
            walls = [t for t in stage.terms if t.type == "keep_out_sphere" and isinstance(t.args["center"], list)]
            assert len(walls) == 1 and np.allclose(walls[0].args["center"], centre, atol=1e-3)
            assert walls[0].args["radius"] == r and walls[0].args["margin"] == HAND_MARGIN
        assert env.reward_program(Subtask("navigate", "table"), obs) is None
    finally:
        env.set_variant(None)
