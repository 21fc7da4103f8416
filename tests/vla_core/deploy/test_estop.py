"""The latched e-stop never resumes on its own; error recovery only on request, only in reflex mode."""

from hypothesis import given, settings
from hypothesis import strategies as st

from vla_core.deploy.estop import EStop, error_recovery_allowed
from vla_core.deploy.state import RobotMode


def test_latches_and_stays_latched_when_the_source_drops():
    e = EStop()
    assert not e.latched
    e.set("/vla/estop", True)
    assert e.latched and e.asserted == {"/vla/estop"}
    e.set("/vla/estop", False)
    assert e.latched and e.asserted == set()  # released button: still latched
    assert e.causes == ("/vla/estop",)


def test_reset_needs_an_explicit_confirmation_and_no_assertion():
    e = EStop()
    e.set("button", True)
    assert not e.reset().ok and e.latched
    assert not e.reset(confirm="yes").ok and not e.reset(confirm=1).ok and e.latched  # truthy is not True
    refused = e.reset(confirm=True)
    assert not refused.ok and "still asserted by ['button']" in refused.message and e.latched
    e.set("button", False)
    assert e.reset(confirm=True).ok and not e.latched and e.causes == ()


def test_one_shot_trigger_and_several_sources():
    e = EStop()
    e.trigger("watchdog fault")
    e.set("a", True)
    e.set("b", True)
    e.set("a", False)
    assert not e.reset(confirm=True).ok  # b still asserted
    e.set("b", False)
    assert e.reset(confirm=True).ok
    assert e.reset(confirm=True).ok  # resetting an unlatched e-stop is a no-op


ops = st.lists(st.one_of(
    st.tuples(st.just("set"), st.sampled_from(["a", "b"]), st.booleans()),
    st.tuples(st.just("trigger"), st.sampled_from(["a", "fault"]), st.none()),
    st.tuples(st.just("reset"), st.none(), st.sampled_from([False, None, 0, 1, "true", True])),
), max_size=40)


@settings(max_examples=200, deadline=None, database=None)
@given(ops)
def test_only_a_confirmed_reset_with_nothing_asserted_ever_unlatches(sequence):
    e = EStop()
    asserted = set()
    for op, source, arg in sequence:
        before = e.latched
        if op == "set":
            e.set(source, arg)
            asserted = asserted | {source} if arg else asserted - {source}
        elif op == "trigger":
            e.trigger(source)
        else:
            e.reset(confirm=arg)
        if before and not e.latched:  # it came off: only through an accepted reset
            assert op == "reset" and arg is True and not asserted
        if op in ("trigger",) or (op == "set" and arg):
            assert e.latched


def test_error_recovery_gate():
    e = EStop()
    assert error_recovery_allowed(True, RobotMode.REFLEX, e).ok
    assert not error_recovery_allowed(False, RobotMode.REFLEX, e).ok  # never without a request
    assert not error_recovery_allowed(1, RobotMode.REFLEX, e).ok
    moving = error_recovery_allowed(True, RobotMode.MOVE, e)
    assert not moving.ok and "robot mode is move, not reflex" in moving.message
    assert "unknown" in error_recovery_allowed(True, None, e).message
    e.trigger("x")
    assert "reset the e-stop first" in error_recovery_allowed(True, RobotMode.REFLEX, e).message
