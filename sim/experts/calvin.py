"""Scripted CALVIN demonstrator on privileged state: one script per subtask kind.

Each script is a generator of 8-D actions (absolute EE pose in the base frame + gripper) that
reads the simulator as it goes; a new subtask starts a new script from wherever the arm is,
as CALVIN's chains never reset between instructions. Grasps are top-down; handles (lid,
drawer, switch) are gripped and dragged; the button is pressed until the LED toggles.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sim.envs.calvin import catalog as C
from sim.experts.kitchen_r import DOWN, slerp_toward
from sim.envs.kitchen_r.robot import quat_mul, yaw_quat
from vla_core.plans.subtask import Subtask

SPEED = 0.03  # m per 10 Hz step the commanded point moves
SLOW = 0.015  # … near contact
ROT_SPEED = 0.25  # rad per step
PAD = 0.015  # the grasp zone's centre below the EE site
TIP = 0.05  # fingertips below the EE site
SAFE_Z = 1.3  # transit height: clears the tower and any block held
REACHED = 0.012  # m between the EE and a waypoint
PATIENCE = 15  # steps a waypoint may stay unreached once commanded (then the script goes on)
GRIP_STEPS = 8
TURN = np.deg2rad(85)  # how far a rotate task turns the block (success needs 60°)
PUSH = 0.14  # m a push task moves the block
MAX_OPEN = 0.035  # a block side the open fingers (8 cm) close across at most (half width)
HAND_SLACK = 0.02  # m a hand over a bay may sit off its centre toward the outer wall

Script = Iterator[np.ndarray]


def down_quat(yaw: float) -> np.ndarray:
    return quat_mul(yaw_quat(yaw), DOWN)


def _block_yaw(q: np.ndarray) -> float:
    return float(2 * np.arctan2(q[3], q[0]))


def _wrap_half(a: float) -> float:
    """Into (-π/2, π/2]: the parallel gripper is the same turned half a turn."""
    return float((a + np.pi / 2) % np.pi - np.pi / 2)


class CalvinExpert:
    def __init__(self, env):
        self.env = env
        self.reset()

    def reset(self) -> None:
        self.script: Script | None = None
        self.for_subtask: Subtask | None = None
        self.ee_cmd: np.ndarray | None = None
        self.quat_cmd: np.ndarray | None = None
        self.grip = 0.0
        self.last: np.ndarray | None = None

    def can_take_over(self, subtask: Subtask) -> bool:
        return True

    def take_over(self, subtask: Subtask, prev_kind: str | None = None) -> None:
        self.reset()

    @property
    def in_free_space(self) -> bool:
        return self.ee_cmd is not None and self.ee_cmd[2] > SAFE_Z - 0.05

    # ---- the running script ------------------------------------------------------------------
    def act(self, subtask: Subtask) -> np.ndarray:
        if self.script is None or subtask != self.for_subtask:
            ee, quat = self._ee()
            self.ee_cmd, self.quat_cmd = ee.copy(), quat.copy()
            holding = self._held() is not None
            self.grip = 1.0 if holding else self.grip
            self.script, self.for_subtask = self._let_go_then(self._script(subtask), holding), subtask
        try:
            self.last = next(self.script)
        except StopIteration:  # done (or gave up): hold still; the protocol judges
            self.last = self._action()
        return self.last

    def _let_go_then(self, script: Script, holding: bool) -> Script:
        """The last instruction may have been judged done mid-drag (a handle still in the hand):
        open and back away from the handle before the next script moves the arm."""
        if not holding and self.env.robot.gripper_width(self.env.data) < 0.075:
            ee = self._ee()[0]
            if self._gripping_a_handle():  # open first: moving would drag the handle along
                yield from self._hold(0.0)
                if ee[2] < SAFE_Z - 0.05:
                    away = [-0.06, 0, 0] if ee[0] > C.SWITCH_X[0] - 0.04 and ee[2] < C.TOWER_TOP else [0, 0, 0.06]
                    yield from self._move(self.ee_cmd + away, speed=SLOW)
            else:  # closed fingers after a push or a press: up first, opening beside a block shoves it
                if ee[2] < SAFE_Z - 0.05:
                    yield from self._move(self.ee_cmd + [0, 0, 0.06], speed=SLOW)
                yield from self._hold(0.0)
        yield from script

    def _gripping_a_handle(self) -> bool:
        m, d = self.env.model, self.env.data
        fingers = self.env.robot.finger_geoms
        for c in d.contact[: d.ncon]:
            for g, other in ((c.geom1, c.geom2), (c.geom2, c.geom1)):
                if g in fingers and m.body(m.geom_bodyid[other]).name in ("switch", "slider", "drawer"):
                    return True
        return False

    def _script(self, s: Subtask) -> Script:
        if s.kind == "pick":
            return self._pick(s.target)
        if s.kind in ("place", "push_into"):
            # push_into_drawer: the block the plan names (the one the chain's later instructions expect
            # there); the expert carries it over the edge
            return self._place(s.target, s.dest or "drawer")
        if s.kind == "stack":
            return self._stack(s.target)
        if s.kind == "unstack":
            return self._unstack(s.target)
        if s.kind in ("rotate_left", "rotate_right"):
            return self._rotate(s.target, TURN if s.kind.endswith("left") else -TURN)
        if s.kind in ("push_left", "push_right"):
            return self._push(s.target, 1.0 if s.kind.endswith("left") else -1.0)
        if s.kind in ("slide_left", "slide_right"):
            return self._slide(1.0 if s.kind.endswith("left") else -1.0)
        if s.kind in ("open", "close"):
            return self._drawer(s.kind == "open")
        if s.kind in ("switch_on", "switch_off"):
            return self._switch(s.kind == "switch_on")
        if s.kind in ("turn_on", "turn_off"):
            return self._press()
        raise ValueError(f"the CALVIN expert has no script for {s.kind!r}")

    # ---- state ---------------------------------------------------------------------------------
    def _ee(self) -> tuple[np.ndarray, np.ndarray]:
        return self.env.robot.ee_base(self.env.data)

    def _pos(self, name: str) -> np.ndarray:
        return self.env.data.body(name).xpos.copy()  # world = base frame (the base never moves)

    def _site(self, name: str) -> np.ndarray:
        return self.env.data.site(name).xpos.copy()

    def _held(self) -> str | None:
        info = self.env.scene_info()
        return next((b for b, loc in info.locations.items() if loc == "grasped"), None)

    def _action(self) -> np.ndarray:
        return np.concatenate([self.ee_cmd, self.quat_cmd, [self.grip]])

    def _grasp_yaw(self, block: str) -> float:
        """A hand turn that closes the fingers across a side that fits, nearest to straight."""
        spec = C.BLOCK_BY_NAME[block]
        yaw = _block_yaw(self.env.data.body(block).xquat)
        options = []
        if spec.half[1] <= MAX_OPEN:  # fingers along the block's y (the hand's y at yaw 0 is -world y)
            options.append(_wrap_half(yaw))
        if spec.half[0] <= MAX_OPEN:
            options.append(_wrap_half(yaw + np.pi / 2))
        return min(options, key=abs)

    # ---- motions -------------------------------------------------------------------------------
    def _move(self, target, yaw: float | None = None, speed: float = SPEED, tol: float = REACHED) -> Script:
        target = np.asarray(target, dtype=float)
        quat = self.quat_cmd if yaw is None else down_quat(yaw)
        waited = 0
        while True:
            n = self._advance(target, speed)
            self.quat_cmd, turned = slerp_toward(self.quat_cmd, quat, ROT_SPEED)
            yield self._action()
            if n <= speed and turned:
                waited += 1
                if np.linalg.norm(self._ee()[0] - target) < tol or waited > PATIENCE:
                    return

    def _hold(self, grip: float, steps: int = GRIP_STEPS) -> Script:
        self.grip = grip
        for _ in range(steps):
            yield self._action()

    def _transit(self, target, yaw: float | None = None, hover: float = 0.1) -> Script:
        """Up to the transit height, across, and down to ``hover`` above ``target``."""
        target = np.asarray(target, dtype=float)
        if self.ee_cmd[2] < SAFE_Z - 0.03:
            yield from self._move([self.ee_cmd[0], self.ee_cmd[1], SAFE_Z])
        yield from self._move([target[0], target[1], SAFE_Z], yaw)
        # below the desk top (the drawer) the arm folds close to its base: the joint-space path
        # bulges out toward the desk edge unless the targets come slowly
        yield from self._move(target + [0, 0, hover], yaw, speed=SLOW if target[2] < C.DESK_TOP else SPEED)

    def _clear_bay(self, bay: str) -> Script:
        """Slide the lid all the way off ``bay`` (an instruction judged done part-way leaves it over
        the bay's edge, where it would catch the hand)."""
        q = float(self.env.data.joint("slider_joint").qpos[0])
        if bay == "left" and q > 0.02:
            yield from self._drag("slider_handle_site", [0, -(q + 0.01), 0])
        elif bay == "right" and q < C.DOOR_TRAVEL - 0.02:
            yield from self._drag("slider_handle_site", [0, C.DOOR_TRAVEL - q + 0.01, 0])

    def _grasp(self, block: str) -> Script:
        """Open, over the block, down, close, lift 12 cm."""
        spec = C.BLOCK_BY_NAME[block]
        where = self.env.scene_info().locations[block]
        if where.startswith("slider_"):
            yield from self._clear_bay(where.split("_")[1])
        yield from self._hold(0.0, 3)
        yaw = self._grasp_yaw(block)
        p = self._pos(block)
        support = p[2] - spec.half[2]
        z = max(p[2] + PAD, support + TIP)
        yield from self._transit([p[0], p[1], z], yaw, hover=0.1)
        p = self._pos(block)
        yield from self._move([p[0], p[1], z], yaw, speed=SLOW)
        yield from self._hold(1.0)
        yield from self._move([p[0], p[1], z + 0.12], speed=SLOW)

    def _hand_yaw(self) -> float:
        q = self.quat_cmd  # = down_quat(yaw) = (0, cos(yaw/2), sin(yaw/2), 0)
        return float(2 * np.arctan2(q[2], q[1]))

    def _release_over(self, block: str, spot, floor: float, turn: float | None = None, drop: float = 0.0) -> Script:
        """Carry the held ``block`` over ``spot`` (x, y), lower it onto ``floor`` (or let it fall the
        last ``drop`` metres), let go, back up. ``turn``: first turn the hand to this yaw (or the
        same half a turn away, whichever is nearer): 0 puts its long side along y (the drawer's
        narrow gap), π/2 along x (between the tower and a block in a bay)."""
        hang = self._ee()[0][2] - self._pos(block)[2]  # EE above the held block's centre
        z = floor + C.BLOCK_BY_NAME[block].half[2] + hang + 0.012 + drop
        yaw = None
        if turn is not None:
            now = self._hand_yaw()
            yaw = min((turn - np.pi, turn, turn + np.pi), key=lambda a: abs(a - now))
        yield from self._transit([spot[0], spot[1], z], yaw, hover=0.08)
        yield from self._move([spot[0], spot[1], z], speed=SLOW)
        yield from self._hold(0.0)
        yield from self._move([spot[0], spot[1], z + 0.1], speed=SLOW)

    # ---- scripts ---------------------------------------------------------------------------------
    def _pick(self, block: str) -> Script:
        yield from self._grasp(block)

    def _place(self, block: str, dest: str) -> Script:
        if self._held() != block:
            yield from self._grasp(block)
        if dest == "slider":
            lid_over_right = self.env.data.joint("slider_joint").qpos[0] < C.DOOR_TRAVEL / 2
            bay = "left" if lid_over_right else "right"
            spot, drop, turn = self._bay_spot(block, bay)
            floor = C.BAY_FLOOR
        else:
            (spot, drop), turn = self._drawer_spot(block), 0.0
            floor = C.DRAWER_FLOOR
        yield from self._release_over(block, spot, floor, turn=turn, drop=drop)
        yield from self._move([self.ee_cmd[0], self.ee_cmd[1], SAFE_Z])

    def _drawer_spot(self, block: str) -> tuple[tuple[float, float], float]:
        """Where in the open part of the drawer to let ``block`` go, and from how high: beside a
        block already there, from above the drawer's walls (the hand is longer than the gap)."""
        open_by = float(self.env.data.joint("drawer_joint").qpos[0])
        front = C.DRAWER_X[0] - open_by  # the drawer front's inner face
        x, y = (front + C.DESK_X[0]) / 2, self.env.layout.drawer_y
        info = self.env.scene_info()
        there = [b for b, loc in info.locations.items() if loc == "drawer" and b != block]
        if not there:
            return (x, y), 0.0
        other = info.pos[there[0]][1]
        room = C.DRAWER_Y_HALF - 0.045
        y = float(np.clip(other - 0.07 if other > y else other + 0.07, y - room, y + room))
        return (x, y), 0.09

    def _bay_spot(self, block: str, bay: str) -> tuple[tuple[float, float], float, float | None]:
        """Where in the open bay to let ``block`` go, from how high and with the hand turned how:
        the middle of the part the lid leaves free (an instruction judged done part-way leaves it
        over the bay's edge), beside a block already there. When the lid or a block is in the way
        the hand turns its long side along x and lets go from above the lid."""
        q = float(self.env.data.joint("slider_joint").qpos[0])
        yc, w = self.env.layout.cabinet_y, C.CABINET_WIDTH
        lo, hi = (yc + q, yc + w / 2) if bay == "left" else (yc - w / 2, yc - w / 2 + q)
        x, y = sum(C.CABINET_X) / 2, (lo + hi) / 2
        info = self.env.scene_info()
        there = [b for b, loc in info.locations.items() if loc == f"slider_{bay}" and b != block]
        margin = max(C.BLOCK_BY_NAME[block].half[:2]) + 0.012
        if there:
            other = info.pos[there[0]][1]
            y = hi - margin if other < y else lo + margin
        crowded = bool(there) or (bay == "left" and q > 0.02) or (bay == "right" and q < C.DOOR_TRAVEL - 0.02)
        y = float(np.clip(y, lo + margin, hi - margin))
        if crowded:
            return (x, y), 0.045, np.pi / 2
        # the hand is 20 cm long across the bays: off-centre toward the outer wall it hits the tower
        centre = self.env.layout.bay_y(bay)
        y = min(y, centre + HAND_SLACK) if bay == "left" else max(y, centre - HAND_SLACK)
        return (x, y), 0.0, None

    def _stack(self, block: str) -> Script:
        info = self.env.scene_info()
        bases = [b for b, loc in info.locations.items() if loc == "table" and b != block]
        if not bases:
            return
        base = min(bases, key=lambda b: np.linalg.norm(info.pos[b][:2] - self._ee()[0][:2]))
        top = info.pos[base][2] + C.BLOCK_BY_NAME[base].half[2]
        yield from self._release_over(block, info.pos[base][:2], top)
        yield from self._move([self.ee_cmd[0], self.ee_cmd[1], SAFE_Z])

    def _free_spot(self, block: str) -> np.ndarray:
        """A table spot clear of the other blocks and the button, near the middle of the desk."""
        info = self.env.scene_info()
        others = [info.pos[b][:2] for b in info.pos if b != block]
        button = np.array(self.env.layout.button_xy)
        best, score = None, -1.0
        for x in np.linspace(C.TABLE_X[0] + 0.02, C.TABLE_X[1] - 0.02, 5):
            for y in np.linspace(-0.3, 0.3, 13):
                p = np.array([x, y])
                gap = min([np.linalg.norm(p - o) for o in others] + [np.linalg.norm(p - button) - 0.03])
                if gap > score:
                    best, score = p, gap
        return best

    def _unstack(self, block: str) -> Script:
        yield from self._grasp(block)
        yield from self._release_over(block, self._free_spot(block), C.DESK_TOP)
        yield from self._move([self.ee_cmd[0], self.ee_cmd[1], SAFE_Z])

    def _rotate(self, block: str, turn: float) -> Script:
        g = self._grasp_yaw(block)
        # of the equivalent hand turns, the one whose sweep stays nearest straight (joint 7's range)
        g = min((g - np.pi, g, g + np.pi), key=lambda a: abs(a + turn / 2))
        spec = C.BLOCK_BY_NAME[block]
        p = self._pos(block)
        z = max(p[2] + PAD, p[2] - spec.half[2] + TIP)
        yield from self._hold(0.0, 3)
        yield from self._transit([p[0], p[1], z], g, hover=0.1)
        yield from self._move([p[0], p[1], z], g, speed=SLOW)
        yield from self._hold(1.0)
        yield from self._move([p[0], p[1], z + 0.015], speed=SLOW)
        yield from self._move([p[0], p[1], z + 0.015], g + turn)
        yield from self._move([p[0], p[1], z + 0.002], speed=SLOW)
        yield from self._hold(0.0)
        yield from self._move([p[0], p[1], z + 0.12], speed=SLOW)

    def _push(self, block: str, side: float) -> Script:
        """Closed fingers behind the block, then sweep it ``PUSH`` along ±y at table height."""
        spec = C.BLOCK_BY_NAME[block]
        p = self._pos(block)
        reach = max(spec.half[:2]) * 1.45 + 0.02  # the block's corner plus the finger's half width
        z = C.DESK_TOP + 0.012 + TIP
        start = np.array([p[0], p[1] - side * reach, z])
        # the hand's long side along the push: turned across it, it sweeps into the lid and the tower
        yield from self._hold(1.0, 3)
        yield from self._transit(start, 0.0, hover=0.08)
        yield from self._move(start, 0.0, speed=SLOW)
        goal = self._pos(block)[1] + side * PUSH
        while side * (goal - self._pos(block)[1]) > 0.003:
            before = self._pos(block)[1]
            target = start + [0, side * (PUSH + 0.06), 0]
            if abs(self.ee_cmd[1] - target[1]) < 0.005:
                break
            yield from self._step_toward(target, 0.012)
            if abs(self._pos(block)[1] - before) < 1e-4 and abs(self._ee()[0][1] - self.ee_cmd[1]) > 0.03:
                break  # stuck
        yield from self._move([self.ee_cmd[0] - 0.0, self.ee_cmd[1] - side * 0.03, z], speed=SLOW)
        yield from self._move([self.ee_cmd[0], self.ee_cmd[1], SAFE_Z])

    def _advance(self, target: np.ndarray, speed: float) -> float:
        """Move the commanded point at most ``speed`` toward ``target``; its distance before the move."""
        d = target - self.ee_cmd
        n = float(np.linalg.norm(d))
        self.ee_cmd = target.copy() if n <= speed else self.ee_cmd + d / n * speed
        return n

    def _step_toward(self, target, speed: float) -> Script:
        self._advance(np.asarray(target), speed)
        yield self._action()

    def _drag(self, site: str, delta, yaw: float = 0.0, speed: float = SLOW) -> Script:
        """Grip the handle at ``site`` top-down, move it by ``delta``, let go, back off up."""
        yield from self._hold(0.0, 3)
        h = self._site(site)
        z = h[2] + PAD
        yield from self._transit([h[0], h[1], z], yaw, hover=0.08)
        h = self._site(site)
        yield from self._move([h[0], h[1], h[2] + PAD], yaw, speed=SLOW)
        yield from self._hold(1.0)
        yield from self._move(self.ee_cmd + np.asarray(delta, dtype=float), speed=speed, tol=0.02)
        yield from self._hold(0.0)
        yield from self._move(self.ee_cmd + [0, 0, 0.08], speed=SLOW)

    def _slide(self, side: float) -> Script:
        yield from self._drag("slider_handle_site", [0, side * (C.DOOR_TRAVEL + 0.01), 0])
        yield from self._move([self.ee_cmd[0], self.ee_cmd[1], SAFE_Z])

    def _drawer(self, opening: bool) -> Script:
        q = float(self.env.data.joint("drawer_joint").qpos[0])
        dx = -(C.DRAWER_TRAVEL - q + 0.01) if opening else q + 0.01
        yield from self._drag("drawer_handle_site", [dx, 0, 0])
        yield from self._move([self.ee_cmd[0], self.ee_cmd[1], SAFE_Z])

    def _switch(self, on: bool) -> Script:
        q = float(self.env.data.joint("switch_joint").qpos[0])
        dz = (C.SWITCH_TRAVEL - q + 0.008) if on else -(q + 0.008)
        yield from self._drag("switch_site", [0, 0, dz])
        yield from self._move([self.ee_cmd[0] - 0.06, self.ee_cmd[1], self.ee_cmd[2]], speed=SLOW)
        yield from self._move([self.ee_cmd[0], self.ee_cmd[1], SAFE_Z])

    def _press(self) -> Script:
        """Closed fingers onto the button cap until the LED toggles, then back up."""
        led0 = self.env.led
        cap = self._site("button_site")
        yield from self._hold(1.0, 3)
        yield from self._transit([cap[0], cap[1], cap[2] + TIP + 0.01], 0.0, hover=0.06)
        yield from self._move([cap[0], cap[1], cap[2] + TIP + 0.01], 0.0, speed=SLOW)
        while self.env.led == led0 and self.ee_cmd[2] > cap[2] + TIP - 0.03:
            yield from self._step_toward(self.ee_cmd - [0, 0, 0.004], 0.004)
        yield from self._move([cap[0], cap[1], cap[2] + TIP + 0.08], speed=SLOW)
        yield from self._move([self.ee_cmd[0], self.ee_cmd[1], SAFE_Z])
