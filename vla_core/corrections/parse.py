"""Text (typed, or an ASR transcript) → one typed ``Correction``.

Rules, tried in order on the lower-cased words (punctuation dropped, politeness words ignored):

1. stop words ("stop", "wait", "hold on", "freeze", "don't move") → ``Freeze``;
2. hand-back words ("continue", "go on", "carry on", "resume", "keep going") → ``Resume``;
3. a language motion: every word is a motion word, a body-part word or a filler ("move left",
   "a bit lower", "rotate the gripper right", "drive forward and open the gripper") → the grammar's
   sentence (``vla_core.plans.motion.compose_motion``, checked against ``MOTION_VOCAB``);
4. an instruction: starts with a task verb and names a thing the robot knows (``THINGS``: "grab the handle
   instead") → ``InstructionCorrection`` with the filler words ("no", "instead", "please") dropped. Garbled
   speech often reads as a verb and a word ("rotate the send", "open and lower"); naming no known thing, it
   is no instruction, so an ASR error rather gives no action than a wrong one;
5. anything else (empty, noise, non-text, contradictions like "left and right") → ``Unrecognised``
   with the reason. Never a motion by guesswork.
"""

from __future__ import annotations

import re

from vla_core.corrections.kinds import (Correction, Freeze, InstructionCorrection, MotionCorrection, Resume,
                                        Unrecognised)
from vla_core.plans import LanguageMotion
from vla_core.plans.motion import (ARM_WORDS, BASE_WORDS, GRIPPER_WORDS, ROTATE_WORDS, compose_motion,
                                   motion_index)

MAX_CHARS = 200  # longer text is not a correction (a pasted paragraph, an ASR run-on)
SMALL, LARGE = 0.5, 2.0  # duration scale of "a bit …" and "a lot …"

POLITE = {"please", "robot", "hey", "ok", "okay", "now", "right", "just", "you", "can", "could", "oh", "uh", "um",
          "and", "then", "the", "a", "an", "your", "its", "it", "to", "toward", "towards", "more", "further",
          "again", "all", "bit", "little", "slightly", "tad", "lot", "much", "far", "way", "instead", "no", "actually"}
STOP_WORDS = {"stop", "wait", "halt", "freeze", "pause"}
STOP_REST = {"hold", "on", "still", "second", "moment", "there", "that", "everything", "moving", "stop", "wait",
             "halt", "freeze", "pause", "dont", "move"}
RESUME_PHRASES = ("continue", "resume", "proceed", "go on", "carry on", "keep going", "go ahead", "you can go")
RESUME_REST = {"continue", "resume", "proceed", "go", "on", "carry", "keep", "going", "ahead", "fine", "good",
               "thats", "thanks", "thank", "with", "task", "the"}

# motion vocabulary: spoken word → grammar direction word (ARM_WORDS) or a rotation/gripper verb
DIRECTIONS = {"left": "left", "right": "right", "forward": "forward", "forwards": "forward",
              "backward": "backward", "backwards": "backward", "back": "backward", "up": "up", "down": "down",
              "lower": "down", "higher": "up", "raise": "up", "lift": "up", "upward": "up", "upwards": "up",
              "downward": "down", "downwards": "down"}
MOVE_VERBS = {"move", "go", "shift", "slide", "bring", "come", "drive", "back", "lower", "raise", "lift"}
MODES = {"rotate": "rotate", "twist": "rotate", "turn": "turn", "tilt": "tilt", "pitch": "tilt", "roll": "roll"}
ARM_PARTS = {"arm", "gripper", "hand", "wrist", "end", "effector", "ee", "fingers", "claw"}
BASE_PARTS = {"base", "body", "robot's", "wheels", "drive"}
GRIP = {"open": 0, "release": 0, "close": 1, "grip": 1, "grasp": 1}  # index into GRIPPER_WORDS
MAGNITUDE = {"bit": SMALL, "little": SMALL, "slightly": SMALL, "tad": SMALL, "lot": LARGE, "much": LARGE,
             "far": LARGE, "way": LARGE}
INSTRUCTION_VERBS = {"grab", "grasp", "pick", "take", "reach", "push", "pull", "open", "close", "put", "place",
                     "turn", "switch", "go", "move", "navigate", "drive", "press", "lift", "slide", "get", "wipe",
                     "approach", "use", "try", "drop", "bring", "hold", "flip", "rotate", "twist", "lower", "raise",
                     "carry", "release", "set"}
# things an instruction can be about: the scene nouns of our benches (kitchen_r's keypoints and fixtures, the
# CALVIN desk, LIBERO's objects) and common kitchen words; a test keeps kitchen_r's names in here
THINGS = {"mug", "cup", "can", "bottle", "apple", "orange", "lemon", "fruit", "block", "cube", "box", "bowl", "plate",
          "dish", "microwave", "oven", "cabinet", "cupboard", "drawer", "door", "handle", "knob", "burner", "stove",
          "light", "lamp", "switch", "lever", "button", "led", "lightbulb", "bulb", "slider", "counter", "table",
          "shelf", "shelving", "sink", "basket", "tray", "rack", "pot", "pan", "kettle", "book", "caddy", "ketchup",
          "sauce", "soup", "cheese", "butter", "milk", "wine", "cream", "pudding", "dressing", "object", "objects"}
LEADING_FILLER = {"no", "not", "that", "instead", "actually", "please", "robot", "hey", "ok", "okay", "now",
                  "wrong", "oops", "so", "um", "uh", "rather"}


class _NotMotion(Exception):
    """The words are not (only) a language motion; ``args[0]`` says why when it is a definite no."""


def words_of(text: str) -> list[str]:
    """Lower-cased words, punctuation dropped ("Stop!" and "stop." read as "stop"); apostrophes kept."""
    return re.findall(r"[a-z]+(?:'[a-z]+)?", text.lower())


def parse_correction(text) -> Correction:
    """One correction from one utterance or typed line; never raises (a bad input is ``Unrecognised``)."""
    if not isinstance(text, str):
        return Unrecognised(repr(text)[:MAX_CHARS], f"not text ({type(text).__name__})")
    raw = text.strip()
    if not raw:
        return Unrecognised(raw, "empty")
    if len(raw) > MAX_CHARS:
        return Unrecognised(raw[:MAX_CHARS], f"too long for a correction ({len(raw)} > {MAX_CHARS} characters)")
    words = [w.replace("'", "") if w in ("don't", "that's") else w for w in words_of(raw)]
    if not words:
        return Unrecognised(raw, "no words")
    content = [w for w in words if w not in POLITE or w in STOP_WORDS]
    if content and content[0] in STOP_WORDS:  # "stop, move left": stopping first is the safe reading
        return Freeze(raw)
    if content[:2] in (["dont", "move"], ["hold", "still"], ["hold", "on"]) and set(content) <= STOP_REST:
        return Freeze(raw)
    joined = " ".join(words)
    if any(p in joined for p in RESUME_PHRASES) and set(words) <= RESUME_REST | POLITE:
        return Resume(raw)
    try:
        motion, scale = _motion(words)
        return MotionCorrection(raw, LanguageMotion(motion), scale)
    except _NotMotion as e:
        definite = e.args[0] if e.args else None
    if definite:
        return Unrecognised(raw, definite)
    instruction = _instruction(words)
    if instruction is not None:
        if not any(_thing(w) for w in instruction.split()):
            return Unrecognised(raw, f"an instruction must name something the robot knows (a mug, the drawer, "
                                     f"the light …): {raw!r}")
        return InstructionCorrection(raw, instruction)
    return Unrecognised(raw, f"not a stop, continue, language motion or instruction: {raw!r}")


def _thing(word: str) -> bool:
    """``word`` names a THING, in the singular or the plural ('mugs', 'boxes')."""
    return word in THINGS or word[:-1] in THINGS or (word.endswith("es") and word[:-2] in THINGS)


def _motion(words: list[str]) -> tuple[str, float]:
    """(grammar sentence, duration scale); _NotMotion when the words are not a motion."""
    base: dict[int, str] = {}  # BASE_WORDS index → '+' / '-', in the order spoken
    arm: dict[int, str] = {}  # ARM_WORDS axis → direction word, in the order spoken
    rotate: list[str] = []
    gripper: list[str] = []
    scale, mode, part, verb = 1.0, "move", None, False  # part None: no body part named (yet)
    i = 0
    while i < len(words):
        w, nxt = words[i], words[i + 1] if i + 1 < len(words) else None
        if w in MAGNITUDE:
            scale = MAGNITUDE[w]
        elif w == "back" and nxt == "up":  # "back up": backward, not backward and up
            _direction("backward", "move", part, base, arm, rotate)
            verb = True
            i += 1
        elif w in MODES:
            mode, verb = MODES[w], True
        elif w in GRIP and (nxt is None or nxt in ARM_PARTS or nxt in ("the", "your", "a", "it")):
            gripper.append(GRIPPER_WORDS[GRIP[w]])
            verb = True
        elif w in BASE_PARTS:
            part = "base"
        elif w in ARM_PARTS:
            part = "arm"
        elif w in DIRECTIONS:
            word = DIRECTIONS[w]
            if w in ("lower", "raise", "lift", "higher"):
                mode = "move"
            verb = True
            _direction(word, mode, part, base, arm, rotate)
        elif w in MOVE_VERBS:
            mode, verb = "move", True
            if w == "drive":
                part = "base"
        elif w not in POLITE:
            raise _NotMotion()
        i += 1
    if not verb or not (base or arm or rotate or gripper):
        raise _NotMotion()
    if len(rotate) > 1 or len(set(gripper)) > 1:
        raise _NotMotion("a language motion has at most one rotation and one gripper command")
    base_words = [BASE_WORDS[k][0 if sign == "+" else 1] for k, sign in base.items()]  # spoken order
    text = compose_motion(base_words, list(arm.values()), rotate[0] if rotate else None,
                          gripper[0] if gripper else None)
    motion_index(text)  # the grammar's own sentence, or a bug here
    return text, scale


def _axis(word: str) -> tuple[int, str]:
    for k, pair in enumerate(ARM_WORDS):
        if word in pair:
            return k, word
    raise _NotMotion()


def _set(table: dict, key: int, value: str) -> None:
    if key in table and table[key] != value:
        raise _NotMotion(f"contradictory directions ({table[key]} and {value})")
    table[key] = value


def _direction(word: str, mode: str, part: str, base: dict, arm: dict, rotate: list) -> None:
    """One direction word under the current verb (move/rotate/turn/tilt/roll) and body part."""
    if mode in ("turn", "rotate") and word in ("left", "right"):
        if part == "base" or (mode == "turn" and part is None):  # "turn left": the mobile base turns
            _set(base, 1, "+" if word == "left" else "-")
        else:
            rotate.append(ROTATE_WORDS[2][0 if word == "left" else 1])
    elif mode in ("tilt", "rotate", "turn") and word in ("up", "down"):
        rotate.append(ROTATE_WORDS[1][0 if word == "down" else 1])
    elif mode == "roll" and word in ("left", "right"):
        rotate.append(ROTATE_WORDS[0][0 if word == "right" else 1])
    elif mode in ("move",) and part == "base":
        if word not in ("forward", "backward"):
            raise _NotMotion(f"the base drives forward/backward or turns left/right; it cannot move {word}")
        _set(base, 0, "+" if word == "forward" else "-")
    elif mode == "move":
        _set(arm, *_axis(word))
    else:
        raise _NotMotion(f"cannot {mode} {word}")


def _instruction(words: list[str]) -> str | None:
    """The instruction sentence, or None when the words do not read as one (verb first, then an object)."""
    i = 0
    while i < len(words) and words[i] in LEADING_FILLER:
        i += 1
    rest = words[i:]
    while rest and rest[-1] in ("instead", "please", "now", "rather"):
        rest = rest[:-1]
    if len(rest) < 2 or rest[0] not in INSTRUCTION_VERBS:
        return None
    if not [w for w in rest[1:] if w not in POLITE]:  # "grab it": no object named
        return None
    return " ".join(rest)


__all__ = ["MAX_CHARS", "THINGS", "parse_correction", "words_of"]
