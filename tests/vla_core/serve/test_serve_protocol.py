"""The wire format: round trips, and bytes from a hostile or broken peer are a ProtocolError, never a crash."""

import math

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from serve_fixtures import observation

from vla_core.plans import Instruction, LanguageMotion, Path3D, Subtask
from vla_core.serve.codec import ARRAY_EXT, DTYPES, ProtocolError, packb, unpackb
from vla_core.serve.protocol import (Request, decode_reply, decode_request, encode_request, observation_from_wire,
                                     observation_to_wire, plan_from_wire, plan_to_wire, request_id)

PLANS = [Instruction("pick the red mug", Subtask("pick", "red_mug")), LanguageMotion("move arm forward"),
         Path3D(np.array([[0.5, 0, 0.4, 0], [0.6, 0.1, 0.1, 1]]), frame="base",
                subtask=Subtask("place", "red_mug", "table"))]


def ext(dtype, shape, raw, code=ARRAY_EXT) -> msgpack.ExtType:
    return msgpack.ExtType(code, msgpack.packb([dtype, shape, raw], use_bin_type=True))


def infer_msg(**changes) -> dict:
    msg = {"type": "infer", "id": 7, "obs": observation_to_wire(observation()), "plan": plan_to_wire(PLANS[0]), "n": 1}
    msg.update(changes)
    return msg


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_every_allowed_dtype_round_trips_exactly(dtype):
    a = (np.arange(24) % 2).astype(dtype).reshape(2, 3, 4)
    b = unpackb(packb({"a": a}))["a"]
    assert b.dtype == a.dtype and b.shape == a.shape and np.array_equal(a, b) and b.flags.writeable


def test_big_endian_scalars_and_empty_arrays_are_normalised():
    out = unpackb(packb([np.arange(3, dtype=">f8"), np.float32(1.5), np.int64(3), np.bool_(True), np.zeros((0, 3))]))
    assert out[0].dtype == np.dtype("<f8") and out[0].tolist() == [0, 1, 2]
    assert out[1:4] == [1.5, 3, True] and out[4].shape == (0, 3)


@pytest.mark.parametrize("bad", [np.array([object()]), np.array(["text"]), np.zeros(2, dtype=[("x", "f4")]),
                                 np.zeros(2, np.complex64)])
def test_only_plain_numeric_arrays_can_be_sent(bad):
    with pytest.raises(TypeError):
        packb(bad)
    with pytest.raises(TypeError):
        packb({"x": {1, 2}})


def test_observation_round_trip_keeps_values_and_dtypes():
    obs = observation(time_s=0.3, rgb=True)
    back = observation_from_wire(unpackb(packb(observation_to_wire(obs))))
    assert back.task == obs.task and back.time == obs.time and back.keypoint_names == obs.keypoint_names
    np.testing.assert_array_equal(back.keypoints, obs.keypoints)  # NaN rows (unseen points) included
    assert back.keypoints.dtype == obs.keypoints.dtype
    for f in ("joint_pos", "ee_pos", "ee_quat", "base_pose"):
        np.testing.assert_array_equal(getattr(back.proprio, f), getattr(obs.proprio, f))
    assert back.proprio.gripper == obs.proprio.gripper
    assert np.array_equal(back.rgb["head"], obs.rgb["head"]) and back.rgb["head"].dtype == np.uint8
    assert np.array_equal(back.depth["head"], obs.depth["head"])


@pytest.mark.parametrize("plan", PLANS, ids=["instruction", "motion", "path"])
def test_plan_round_trip(plan):
    back = plan_from_wire(unpackb(packb(plan_to_wire(plan))))
    assert type(back) is type(plan) and back.to_text() == plan.to_text() and back.subtask == plan.subtask


def test_request_round_trip():
    for req in (Request("hello", 1), Request("reset", 2, seed=5, task="t"), Request("reset", 3),
                Request("infer", 4, obs=observation(), plan=PLANS[2], n=3), Request("infer", 5, obs=observation())):
        back = decode_request(encode_request(req))
        assert (back.type, back.id, back.n, back.seed, back.task) == (req.type, req.id, req.n, req.seed, req.task)
        assert (back.plan is None) == (req.plan is None)
        assert (back.obs is None) == (req.obs is None)


@pytest.mark.parametrize("payload,match", [
    (ext("|O", [1], b"x" * 8), "dtype"),
    (ext("<U1", [1], b"x" * 4), "dtype"),
    (ext(">f4", [1], b"x" * 4), "dtype"),
    (ext("V8", [1], b"x" * 8), "dtype"),
    (ext("<f4", [3], b"x" * 8), "needs 12 bytes, got 8"),
    (ext("<f4", [2**62, 2**62], b"x" * 4), "needs"),  # a huge declared shape allocates nothing
    (ext("<f8", [-1], b""), "non-negative"),
    (ext("<f8", [1.5], b"x" * 8), "non-negative ints"),
    (ext("<f8", [1] * 9, b"x" * 8), "at most 8"),
    (ext("|b1", [2], b"\x00\x07"), "0 or 1"),
    (ext("<f4", [1], "text"), "bytes"),
    (ext("<f4", [1], b"x" * 4, code=42), "unknown msgpack ext type 42"),
    (msgpack.ExtType(ARRAY_EXT, b"\xc1"), "undecodable array header"),
    (msgpack.ExtType(ARRAY_EXT, msgpack.packb({"dtype": "<f4"})), r"\[dtype, shape, bytes\]"),
])
def test_adversarial_arrays_are_protocol_errors(payload, match):
    with pytest.raises(ProtocolError, match=match):
        unpackb(msgpack.packb({"a": payload}, use_bin_type=True))


@pytest.mark.parametrize("data", [b"", b"\xc1", b"\x92\x01", b"\x81\x01\x02", msgpack.packb([1] * 3) + b"extra",
                                  b"\x91" * 100_000, "a text frame", b"\xa3\xff\xfe\xfd"])
def test_garbage_bytes_are_protocol_errors(data):
    with pytest.raises(ProtocolError):
        decode_request(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=512))
def test_random_bytes_never_crash_the_decoder(data):
    try:
        decode_request(data)
    except ProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_corrupted_valid_messages_decode_or_fail_cleanly(data):
    msg = bytearray(packb(infer_msg()))
    for _ in range(data.draw(st.integers(1, 8))):
        msg[data.draw(st.integers(0, len(msg) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(msg)))
    try:
        req = decode_request(bytes(msg[:cut]))
    except ProtocolError:
        return
    assert req.type in ("hello", "reset", "infer")


def _without(d: dict, *path):
    d = {**d}
    if len(path) == 1:
        del d[path[0]]
    else:
        d[path[0]] = _without(d[path[0]], *path[1:])
    return d


def _with(d: dict, value, *path):
    d = {**d}
    d[path[0]] = value if len(path) == 1 else _with(d[path[0]], value, *path[1:])
    return d


@pytest.mark.parametrize("mutate,match", [
    (lambda m: [m], "message must be a map"),
    (lambda m: _without(m, "type"), "missing 'type'"),
    (lambda m: _with(m, "explode", "type"), "must be one of"),
    (lambda m: _with(m, True, "id"), "id must be int"),
    (lambda m: _with(m, 0, "n"), r"n must be in \[1, 64\]"),
    (lambda m: _with(m, 10**6, "n"), r"n must be in \[1, 64\]"),
    (lambda m: _without(m, "obs"), "missing 'obs'"),
    (lambda m: _with(m, np.zeros(6), "obs", "proprio", "joint_pos"), r"joint_pos must have shape \(7\)"),
    (lambda m: _with(m, np.zeros((7, 1)), "obs", "proprio", "joint_pos"), "shape"),
    (lambda m: _with(m, "0.04", "obs", "proprio", "gripper"), "gripper must be int/float"),
    (lambda m: _with(m, np.zeros((2, 3), np.float32), "obs", "keypoints"), r"keypoints must have shape \(3, 3\)"),
    (lambda m: _with(m, np.zeros((3, 3), np.int64), "obs", "keypoints"), "dtype"),
    (lambda m: _with(m, ["a", 1, "b"], "obs", "keypoint_names"), "list of str"),
    (lambda m: _with(m, {"head": np.zeros((4, 4, 3), np.float32)}, "obs", "rgb"), "uint8"),
    (lambda m: _with(m, {"head": np.zeros((4, 4), np.uint8)}, "obs", "rgb"), "shape"),
    (lambda m: _with(m, {1: np.zeros((4, 4), np.float32)}, "obs", "depth"), "undecodable"),  # non-str map key
    (lambda m: _with(m, "dance", "plan", "kind"), "plan.kind must be one of"),
    (lambda m: _without(m, "plan", "text"), "missing 'text'"),
    (lambda m: _with(m, {"kind": "path", "waypoints": np.array([[0, 0, np.nan, 0]])}, "plan"), "NaN"),
    (lambda m: _with(m, {"kind": "path", "waypoints": np.zeros((2, 3))}, "plan"), r"\(N, 4\)"),
    (lambda m: _with(m, {"kind": "fly", "target": "x"}, "plan", "subtask"), "unknown subtask kind"),
])
def test_invalid_fields_are_named_in_the_error(mutate, match):
    with pytest.raises(ProtocolError, match=match):
        decode_request(packb(mutate(infer_msg())))


def test_reset_seeds_must_fit_a_generator():
    with pytest.raises(ProtocolError, match="seed"):
        decode_request(packb({"type": "reset", "id": 1, "seed": -1}))
    assert decode_request(packb({"type": "reset", "id": 1, "seed": 2**63 - 1})).seed == 2**63 - 1


def test_request_id_is_read_back_for_error_replies_when_possible():
    assert request_id(packb({"type": "bogus", "id": 41})) == 41
    assert request_id(b"\xc1") is None and request_id(packb({"id": True})) is None


def test_replies_need_a_type_and_timing():
    assert decode_reply(packb({"type": "hello", "timing": {}}))["type"] == "hello"
    for bad in ({"type": "hello"}, {"timing": {}}, [1]):
        with pytest.raises(ProtocolError):
            decode_reply(packb(bad))


def test_no_pickle_or_object_hooks_in_the_package():
    from pathlib import Path

    import vla_core.serve as pkg

    for f in Path(pkg.__file__).parent.glob("*.py"):
        text = f.read_text()
        for banned in ("import pickle", "pickle.load", "cloudpickle", "object_hook", "eval(", "allow_pickle=True"):
            assert banned not in text, (f.name, banned)


def test_a_nan_gripper_is_the_policy_s_call_but_a_bool_is_malformed():
    obs = infer_msg()["obs"]
    assert math.isnan(observation_from_wire(_with(obs, float("nan"), "proprio", "gripper")).proprio.gripper)
    with pytest.raises(ProtocolError, match="gripper must be int/float"):
        observation_from_wire(_with(obs, True, "proprio", "gripper"))
