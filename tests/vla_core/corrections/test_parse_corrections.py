"""Text → typed correction: a table of what people say (and what ASR makes of it), garbage included."""

import math

import pytest

from vla_core.corrections import (Freeze, InstructionCorrection, MotionCorrection, Resume, Unrecognised,
                                  parse_correction)
from vla_core.corrections.parse import MAX_CHARS
from vla_core.plans.motion import MOTION_VOCAB, motion_directions

FREEZE = ["stop", "Stop!", "STOP.", "wait", "wait a second", "hold on", "freeze", "halt", "please stop",
          "robot, stop right now", "don't move", "stop moving left", "pause"]
RESUME = ["continue", "Continue.", "go on", "carry on", "keep going", "resume", "ok continue", "go ahead",
          "continue with the task", "that's fine, continue"]
MOTIONS = [
    ("move left", "move arm left", 1.0),
    ("Left!", "move arm left", 1.0),
    ("Move left.", "move arm left", 1.0),
    ("a bit lower", "move arm down", 0.5),
    ("rotate the gripper right", "rotate arm right", 1.0),
    ("move the arm up a lot", "move arm up", 2.0),
    ("go back", "move arm backward", 1.0),
    ("back up", "move arm backward", 1.0),
    ("move forward and to the left", "move arm forward and left", 1.0),
    ("slightly to the right", "move arm right", 0.5),
    ("raise the arm", "move arm up", 1.0),
    ("turn left", "turn base left", 1.0),
    ("turn the base right", "turn base right", 1.0),
    ("drive forward", "move base forward", 1.0),
    ("drive forward and open the gripper", "move base forward and open gripper", 1.0),
    ("tilt the gripper down", "tilt arm down", 1.0),
    ("roll left", "roll arm left", 1.0),
    ("open the gripper", "open gripper", 1.0),
    ("close the gripper", "close gripper", 1.0),
    ("open", "open gripper", 1.0),
    ("move up and close the gripper", "move arm up and close gripper", 1.0),
]
INSTRUCTIONS = [
    ("grab the handle instead", "grab the handle"),
    ("No, grab the handle instead.", "grab the handle"),
    ("open the drawer", "open the drawer"),
    ("turn on the light", "turn on the light"),
    ("pick up the red mug", "pick up the red mug"),
    ("move to the sink", "move to the sink"),
    ("lower the gripper onto the mug", "lower the gripper onto the mug"),
]
UNRECOGNISED = [
    ("", "empty"), ("   ", "empty"), ("\n\t", "empty"), ("nan", "not a stop"), ("NaN", "not a stop"),
    ("inf", "not a stop"), ("123 456", "no words"), ("?!...", "no words"), ("Thank you.", "not a stop"),
    ("asdf qwerty", "not a stop"), ("move left and right", "contradictory"), ("go up and down", "contradictory"),
    ("move base left", "base drives"), ("grab it", "not a stop"), ("the red one", "not a stop"),
    ("rotate left and tilt down", "at most one rotation"), ("x" * (MAX_CHARS + 1), "too long"),
    ("the the the", "not a stop"),
    # what Whisper made of spoken commands in bench/asr_accuracy.py: a verb and no known thing is no instruction
    ("pull it on", "must name something"), ("Rotate the send.", "must name something"),
    ("open and lower", "must name something"), ("Open the air", "must name something"),
    ("close, and then move", "must name something"), ("move left, under", "must name something"),
    ("Pick up the red mode.", "must name something"),
]


@pytest.mark.parametrize("text", FREEZE)
def test_stop_words_freeze(text):
    c = parse_correction(text)
    assert isinstance(c, Freeze) and c.text == text.strip() and c.kind == "freeze"


@pytest.mark.parametrize("text", RESUME)
def test_continue_hands_back(text):
    assert isinstance(parse_correction(text), Resume)


@pytest.mark.parametrize("text,motion,scale", MOTIONS)
def test_language_motions_map_onto_the_grammar(text, motion, scale):
    c = parse_correction(text)
    assert isinstance(c, MotionCorrection), c
    assert c.motion.text == motion and c.scale == scale
    assert motion in MOTION_VOCAB


@pytest.mark.parametrize("text,instruction", INSTRUCTIONS)
def test_instructions_override_the_substep(text, instruction):
    c = parse_correction(text)
    assert isinstance(c, InstructionCorrection), c
    assert c.instruction == instruction


def test_plural_things_and_every_kitchen_r_thing_can_be_named():
    from sim.envs.kitchen_r.env import KEYPOINT_NAMES
    from vla_core.corrections.parse import THINGS

    assert isinstance(parse_correction("pick up the two mugs"), InstructionCorrection)
    assert isinstance(parse_correction("put the boxes away"), InstructionCorrection)
    words = {w for name in KEYPOINT_NAMES for w in name.split("_")}
    adjectives = {"red", "blue", "green", "yellow", "white", "purple", "orange", "top", "bottom", "left", "right",
                  "slide"}
    assert words - adjectives <= THINGS
    for text in ("grasp the slide cabinet handle", "push the light on", "turn the top left burner off",
                 "carry the yellow lemon over the white plate", "pull the microwave open"):  # oracle sub-steps
        assert isinstance(parse_correction(text), InstructionCorrection), text


@pytest.mark.parametrize("text,reason", UNRECOGNISED)
def test_unrecognised_text_does_nothing_and_says_why(text, reason):
    c = parse_correction(text)
    assert isinstance(c, Unrecognised), c
    assert reason in c.reason and c.describe().startswith("no correction")


@pytest.mark.parametrize("value", [None, float("nan"), math.inf, 3, b"stop", ["stop"], {"text": "stop"}])
def test_non_text_is_unrecognised_not_an_error(value):
    c = parse_correction(value)
    assert isinstance(c, Unrecognised) and "not text" in c.reason


def test_every_grammar_sentence_reads_back_as_itself():
    """The grammar's own sentences parse to themselves (the parser adds no second grammar)."""
    for text in MOTION_VOCAB[1:200] + MOTION_VOCAB[-200:]:
        c = parse_correction(text)
        assert isinstance(c, MotionCorrection) and c.motion.text == text, (text, c)


def test_motion_directions_invert_the_grammar():
    d = motion_directions("move base forward and turn base right and move arm left and up and tilt arm down "
                          "and close gripper")
    assert d.base == (1, -1) and d.arm == (0, 1, 1) and d.rotate == (0, 1, 0) and d.gripper == 1.0
    assert motion_directions("stop").still
    with pytest.raises(ValueError, match="not a motion"):
        motion_directions("move arm sideways")
