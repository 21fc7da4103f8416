"""LIBERO's suites, tasks and fixed initial states, as the standard protocol uses them.

Task ids are ``<suite>/<index>`` in LIBERO's own task order ("spatial/0" … "spatial/9");
episode ``k`` of a task starts from its ``k``-th stored initial state (50 per task).
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.envs.libero.install import import_libero

# suite → (LIBERO's benchmark name, max steps per episode): the standard protocol's budgets
SUITES: dict[str, tuple[str, int]] = {
    "spatial": ("libero_spatial", 220),
    "object": ("libero_object", 280),
    "goal": ("libero_goal", 300),
    "10": ("libero_10", 520),
    "90": ("libero_90", 400),
}
INIT_STATES = 50  # per task
NOOP_STEPS = 10  # the protocol lets objects settle for 10 no-op steps before the policy acts


@dataclass(frozen=True)
class LiberoTask:
    task_id: str  # "<suite>/<index>"
    suite: str
    index: int
    name: str  # LIBERO's task name (the bddl file's stem)
    instruction: str
    bddl: str  # path of the task's BDDL file
    init_file: str
    goals: tuple[tuple[str, ...], ...]  # BDDL goal atoms, e.g. (("on", "akita_black_bowl_1", "plate_1"),)

    @property
    def max_steps(self) -> int:
        return SUITES[self.suite][1]

    @property
    def category(self) -> str:  # reports group episodes by task
        return self.task_id

    @property
    def split(self) -> str:
        return self.suite


def check_suite(suite) -> str:
    """The suite's name as SUITES spells it; configs and command lines turn '10' and '90' into ints."""
    name = str(suite)
    if name not in SUITES:
        raise ValueError(f"unknown LIBERO suite {suite!r}; choose from {', '.join(SUITES)}")
    return name


_GOAL = re.compile(r"\(:goal\s*(.*)\)\s*\)\s*$", re.S)
_ATOM = re.compile(r"\((\w+)((?:\s+[\w.-]+)+)\s*\)")


def parse_goals(bddl_text: str) -> tuple[tuple[str, ...], ...]:
    """The goal atoms of a BDDL problem, predicate lower-cased: ('on', obj, dest), ('open', fixture_region) …"""
    m = _GOAL.search(bddl_text.strip())
    if m is None:
        raise ValueError("BDDL problem has no (:goal ...) block")
    atoms = []
    for name, args in _ATOM.findall(m.group(1)):
        if name.lower() in ("and", "or", "not"):
            continue
        atoms.append((name.lower(), *args.split()))
    if not atoms:
        raise ValueError("BDDL goal holds no predicates")
    return tuple(atoms)


@functools.cache
def tasks(suite: str) -> tuple[LiberoTask, ...]:
    """Every task of a suite, in LIBERO's order (task_order_index 0, as published results use)."""
    suite = check_suite(suite)
    bench_name = SUITES[suite][0]
    L = import_libero()
    from libero.libero import benchmark

    with contextlib.redirect_stdout(io.StringIO()):  # it prints its task order
        bench = benchmark.get_benchmark_dict()[bench_name]()
    root_bddl, root_init = Path(L.get_libero_path("bddl_files")), Path(L.get_libero_path("init_states"))
    out = []
    for i in range(bench.n_tasks):
        t = bench.get_task(i)
        bddl = root_bddl / t.problem_folder / t.bddl_file
        out.append(LiberoTask(f"{suite}/{i}", suite, i, t.name, t.language, str(bddl),
                              str(root_init / t.problem_folder / t.init_states_file), parse_goals(bddl.read_text())))
    return tuple(out)


def task_by_id(task_id: str) -> LiberoTask:
    suite, _, index = task_id.partition("/")
    pool = tasks(check_suite(suite))
    if not index.isdigit() or int(index) >= len(pool):
        raise ValueError(f"no LIBERO task {task_id!r}; ids are {suite}/0 … {suite}/{len(pool) - 1}")
    return pool[int(index)]


@functools.cache
def init_states(task_id: str) -> np.ndarray:
    """(50, S) flattened MuJoCo states. LIBERO stores them with torch.save around a numpy array;
    they are read with torch's weights-only unpickler, allowing nothing but numpy arrays."""
    import torch

    path = task_by_id(task_id).init_file
    allowed = [(np._core.multiarray._reconstruct, "numpy.core.multiarray._reconstruct"), np.ndarray, np.dtype,
               (np.dtypes.Float64DType, "numpy.dtype[float64]")]
    with torch.serialization.safe_globals(allowed):
        states = torch.load(path, weights_only=True)
    states = np.asarray(states, dtype=np.float64)
    if states.ndim != 2 or len(states) < 1:
        raise ValueError(f"{path}: expected (N, S) initial states, got shape {states.shape}")
    return states
