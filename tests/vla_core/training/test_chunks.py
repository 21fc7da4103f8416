"""ChunkSampler: subtask-balanced sampling and the motion cue's look-back stay inside an episode."""

import numpy as np
import pytest

from vla_core.data.episode import EpisodeArrays
from vla_core.policies.text import shared_encoder
from vla_core.training.chunks import ChunkSampler, build_chunk_data, run_ends


@pytest.fixture(scope="module")
def data():
    eps = []
    for e in range(2):
        t = 100
        state = np.zeros((t, 18), np.float32)
        state[:, 15] = np.arange(t) * 0.05 + 10 * e  # base x moves 0.05 m per step; episodes far apart
        action = np.zeros((t, 10), np.float32)
        action[:, 0] = np.arange(t) + 1000 * e  # each step's action names its step
        eps.append(EpisodeArrays(task="t", state=state, action=action,
                                 keypoints=np.zeros((t, 1, 3), np.float32), keypoint_names=("red_mug",),
                                 subtask=["navigate:table"] * 90 + ["pick:red_mug"] * 10,
                                 instruction=["go"] * 90 + ["pick"] * 10, motion=None, path=None))
    return build_chunk_data(eps, ["red_mug"], shared_encoder(), fps=10.0)


@pytest.mark.parametrize("balance, pick_share", [(0.0, 0.10), (1.0, 0.50)])
def test_balance_evens_out_subtask_kinds(data, balance, pick_share):
    s = ChunkSampler(data, np.arange(len(data)), 4, {"instruction": 1.0}, seed=0, balance=balance)
    b = s.batch(4000)
    picked = float(np.mean(b["plan_text"].numpy() @ data.text_emb[data.texts.index("pick")] > 0.99))
    assert abs(picked - pick_share) < 0.04


def test_motion_cue_never_looks_across_episodes(data):
    s = ChunkSampler(data, np.arange(len(data)), 4, {"instruction": 1.0}, seed=0, motion_gap=8)
    m = s.batch(2000)["motion"].numpy()
    assert np.all((np.abs(m[:, 0] - 0.5) < 1e-4) | (m[:, 0] == 0))  # 0.05 m/step at 10 Hz, or episode start


def test_instruction_samples_carry_the_landmark_they_name():
    eps = [EpisodeArrays(task="t", state=np.zeros((10, 18), np.float32), action=np.zeros((10, 10), np.float32),
                         keypoints=np.zeros((10, 1, 3), np.float32), keypoint_names=("red_mug",),
                         subtask=["navigate:table"] * 5 + ["pick:red_mug"] * 5,
                         instruction=["navigate to the table"] * 5 + ["pick the red mug"] * 5, motion=None,
                         path=np.zeros((10, 8, 4), np.float32))]
    d = build_chunk_data(eps, ["red_mug"], shared_encoder(), landmarks={"table": [0.0, -1.9, -1.5], "shelf": [1, 2, 3]})
    s = ChunkSampler(d, np.arange(len(d)), 4, {"instruction": 1.0, "path": 1.0}, seed=0)
    idx = np.repeat(np.arange(10), 20)
    b = s.batch(idx=idx)
    lm, kind = b["landmark"].numpy(), b["plan_kind"].numpy()
    instr = kind == 0  # PLAN_KINDS.index("instruction")
    nav = instr & (idx < 5)
    assert nav.any() and np.allclose(lm[nav], [0.0, -1.9, -1.5, 1.0])
    assert not lm[~nav].any()  # a pick names no landmark; a path plan names nothing


def test_subtask_plans_use_the_subtask_sentence(data):
    """plan_mix 'subtask' conditions on the subtask's own sentence (from its key) as an instruction plan."""
    s = ChunkSampler(data, np.arange(len(data)), 4, {"subtask": 1.0}, seed=0)
    b = s.batch(idx=np.array([0, 95]))
    want = data.text_emb[[data.texts.index("navigate to the table"), data.texts.index("pick the red mug")]]
    assert np.allclose(b["plan_text"].numpy(), want) and (b["plan_kind"].numpy() == 0).all()
    with pytest.raises(ValueError, match="plan_mix keys"):
        ChunkSampler(data, np.arange(len(data)), 4, {"subtasks": 1.0})


def test_bad_balance_is_refused(data):
    with pytest.raises(ValueError, match="balance"):
        ChunkSampler(data, np.arange(len(data)), 4, {"instruction": 1.0}, balance=1.5)


def test_run_ends_mark_the_last_step_of_each_run():
    assert run_ends(["a", "a", "b", "b", "b", "a"]).tolist() == [1, 1, 4, 4, 4, 5]
    assert run_ends([]).tolist() == [] and run_ends(["x"]).tolist() == [0]


@pytest.mark.parametrize("chunk_end, last", [("episode", [90, 91]), ("subtask", [89, 89])])
def test_chunks_stop_at_the_chosen_end(data, chunk_end, last):
    """A navigate chunk near the switch holds navigate's last action with chunk_end=subtask and runs
    into the pick's first actions with chunk_end=episode; no chunk crosses an episode either way."""
    s = ChunkSampler(data, np.arange(len(data)), 4, {"instruction": 1.0}, seed=0, chunk_end=chunk_end)
    a = s.batch(idx=np.array([88, 90, 197]))["action"].numpy()[..., 0]
    assert a[0].tolist() == [88, 89] + last
    assert a[1].tolist() == [90, 91, 92, 93]  # the pick's own chunk is whole
    assert a[2].tolist() == [1097, 1098, 1099, 1099]  # episode 1's last steps, not beyond
    with pytest.raises(ValueError, match="chunk_end"):
        ChunkSampler(data, np.arange(len(data)), 4, {"instruction": 1.0}, chunk_end="chunk")
