"""Fine-grained instructions (SteerVLA-style): the sub-step a subtask is in, read from privileged state.

'pick the red mug' runs through 'move the gripper above the red mug', 'lower the gripper onto
the red mug', 'grasp the red mug', 'lift the red mug'. The sentence is a function of simulator
state only (never of the expert's memory), so the oracle says the same thing whether the
expert or a learned policy is driving: data labels and policy-mode plans agree by
construction. Sentences name the subtask's target in its own words, so grounding
(vla_core.policies.grounding) finds the same keypoint ('release the red mug' no longer names
where it goes: by then it is there).
"""

from __future__ import annotations

import mujoco
import numpy as np

from sim.envs.kitchen_r import catalog as C
from sim.envs.kitchen_r import predicates as P
from sim.envs.kitchen_r.robot import wrap_angle
from sim.envs.kitchen_r.tasks import ACTIVATING
from vla_core.plans.motion import MotionThresholds
from vla_core.plans.subtask import Subtask

ABOVE_XY = 0.03  # m: EE this close (horizontally) to an object is above it
GRASP_DZ = 0.05  # m: ... and this close above its centre is at grasp height
RELEASE_CLEARANCE = 0.03  # m: a held object this close over its support is set down
LOWERING_VZ = -0.05  # m/s: a held object sinking this fast (and not mainly sideways) is being lowered
NEAR_HANDLE = 0.07  # m: EE site this close to a handle's site is at it (knob grasps sit ~5 cm off)
OPEN_WIDTH = MotionThresholds.gripper_open_width  # m: fingers wider than this are open (one definition)
# the base is at a fixture's dock: between the expert's own docking test (3 cm, 0.05 rad, stopped)
# and the 'docked' predicate of navigate subtasks (predicates.DOCKED_TOL_*, looser)
DOCKED_XY, DOCKED_YAW, DOCKED_SPEED = 0.06, 0.1, 0.05  # m, rad, m/s

FIXTURE_VERB = {"open": "pull {f} open", "close": "push {f} closed", "turn_on": "turn {f} on",
                "turn_off": "turn {f} off", "switch_on": "push {f} on", "switch_off": "push {f} off"}


def _name(n: str) -> str:
    return n.replace("_", " ")


def substep_text(env, s: Subtask) -> str:
    """The fine-grained instruction for subtask ``s`` in ``env``'s current state."""
    if s.kind == "navigate":
        return f"drive to the {_name(s.target)}"
    if s.kind == "pick":
        return _pick(env, s)
    if s.kind == "place":
        return _place(env, s)
    return _fixture(env, s)


def _pick(env, s: Subtask) -> str:
    m, d, r = env.model, env.data, env.robot
    obj = _name(s.target)
    if P.is_held(m, d, s.target, r.finger_geoms) and r.gripper_width(d) < OPEN_WIDTH:
        return f"lift the {obj}"
    ee, _ = r.ee_base(d)
    p = r.world_to_base(d, P.body_pos(m, d, s.target))
    if np.linalg.norm(ee[:2] - p[:2]) >= ABOVE_XY:
        return f"move the gripper above the {obj}"
    return f"grasp the {obj}" if ee[2] < p[2] + GRASP_DZ else f"lower the gripper onto the {obj}"


def _place(env, s: Subtask) -> str:
    m, d, r = env.model, env.data, env.robot
    obj, dest = _name(s.target), _name(s.dest)
    prep = "into" if s.dest in C.RECEPTACLE_BY_NAME else "onto"
    if not P.is_held(m, d, s.target, r.finger_geoms):
        return f"move the gripper up from the {obj}"
    if s.dest in C.RECEPTACLE_BY_NAME:
        support = float(P.body_pos(m, d, s.dest)[2]) + 0.005
    else:
        support = C.SURFACE_BY_NAME[s.dest].height
    clearance = float(P.body_pos(m, d, s.target)[2]) - C.OBJECT_BY_NAME[s.target].half_height - support
    if clearance < RELEASE_CLEARANCE:
        return f"release the {obj}"
    vel = np.zeros(6)
    mujoco.mj_objectVelocity(m, d, mujoco.mjtObj.mjOBJ_BODY, m.body(s.target).id, vel, 0)
    vz, vxy = vel[5], np.linalg.norm(vel[3:5])
    if vz < LOWERING_VZ and vxy < 0.5 * abs(vz):
        return f"lower the {obj} {prep} the {dest}"
    return f"carry the {obj} over the {dest}"


def _fixture(env, s: Subtask) -> str:
    m, d, r = env.model, env.data, env.robot
    f = C.FIXTURE_BY_NAME[s.target]
    name = _name(f.name)
    b = r.base(d)
    speed = float(np.linalg.norm(d.qvel[r.base_qpos]))
    if not (np.hypot(b.x - f.dock[0], b.y - f.dock[1]) < DOCKED_XY and abs(wrap_angle(b.yaw - f.dock[2])) < DOCKED_YAW
            and speed < DOCKED_SPEED):
        return f"drive to the {name}"
    active = s.kind in ACTIVATING
    if P.fixture_active(m, d, f.name) is active:  # there, but the fingers are still on it
        return f"release the {name} handle"
    # the switch and a closing door are pushed with closed fingers; the rest are grasped first
    pushed = f.kind == "switch" or (f.kind == "door" and not active)
    closed = r.gripper_width(d) < OPEN_WIDTH
    if not P.fingers_free(m, d, r.finger_geoms) and (pushed or closed):
        return FIXTURE_VERB[s.kind].format(f=f"the {name}")
    # the reach and the grasp say what comes next: a switch is approached from the side it is
    # pushed toward and a knob at the pitch its turn needs, which 'reach for the handle' alone hides
    goal = FIXTURE_VERB[s.kind].format(f="it")
    ee, _ = r.ee_base(d)
    handle = r.world_to_base(d, d.site_xpos[m.site(f.handle_site).id])
    if not pushed and np.linalg.norm(ee - handle) < NEAR_HANDLE:
        return f"grasp the {name} handle to {goal}"
    return f"reach for the {name} handle to {goal}"
