"""Plan factors: templates round-trip, mentions in order, entity features on constructed scenes."""

import numpy as np
import pytest

from vla_core.planners.factors import (ENTITY_FEATURES, MAX_MENTIONS, compose, entity_features, entity_points, fill,
                                       mentions, to_template)
from vla_core.plans import Subtask


@pytest.mark.parametrize("sentence, subtask, template", [
    ("lower the red mug onto the shelf", Subtask("place", "red_mug", "shelf"), "lower the {target} onto the {dest}"),
    ("release the microwave handle", Subtask("open", "microwave"), "release the {target} handle"),
    ("reach for the microwave handle to pull it open", Subtask("open", "microwave"),
     "reach for the {target} handle to pull it open"),
    ("drive to the counter", Subtask("navigate", "counter"), "drive to the {target}"),
    ("grasp the red mug", Subtask("pick", "red_mug"), "grasp the {target}"),
])
def test_a_template_fills_back_to_its_sentence(sentence, subtask, template):
    assert to_template(sentence, subtask) == template
    assert fill(template, subtask) == sentence
    # and for a composition the template never saw
    assert fill(template, Subtask(subtask.kind, "blue_bowl", "sink" if subtask.dest else None)).count("blue bowl") == 1


def test_a_sentence_that_does_not_name_its_subtask_has_no_template():
    assert to_template("drive to the table", Subtask("navigate", "counter")) is None
    assert to_template("", Subtask("pick", "red_mug")) is None
    assert to_template("grasp the red mug", None) is None
    # braces in a sentence are not slots: nothing is formatted
    assert to_template("grasp the {dest} red mug", Subtask("pick", "red_mug")) is None
    assert fill("grasp the {target} {__class__}", Subtask("pick", "red_mug")) == "grasp the red mug {__class__}"


def test_compose_keeps_a_destination_only_on_place():
    assert compose("place", "red_mug", "shelf") == Subtask("place", "red_mug", "shelf")
    assert compose("pick", "red_mug", "shelf") == Subtask("pick", "red_mug")
    assert compose("place", "red_mug", None) is None


def test_mentions_are_in_text_order_longest_phrase_first():
    ents = ["microwave", "red_mug", "white_bowl", "bowl", "table"]
    m = mentions("Put the red mug in the white bowl, then open the microwave", ents)
    assert m.tolist()[:4] == [1, 2, 0, -1] and len(m) == MAX_MENTIONS
    assert mentions("", ents).tolist() == [-1] * MAX_MENTIONS
    assert mentions("go to the table and the table", ents).tolist()[:2] == [4, -1]


def test_mentions_read_the_lexicon_of_the_bench():
    from sim.envs import lexicon

    ents = ["counter", "shelf", "stove", "top_right_burner", "red_mug"]
    lex = lexicon("kitchen_r")
    assert mentions("Turn on the back right burner", ents, lex).tolist()[:1] == [3]
    assert mentions("Turn on the back right burner", ents).tolist()[:1] == [-1]  # not by its own name
    # 'kitchen counter by the stove' is the stove area, not the counter
    assert mentions("Go to the kitchen counter by the stove", ents, lex).tolist()[:2] == [2, -1]
    assert mentions("Put the red mug on the shelving unit", ents, lex).tolist()[:2] == [4, 1]
    assert lexicon("calvin") == {}


def test_entity_features_tie_an_object_to_the_nearest_area():
    ents = ["red_mug", "counter", "table"]
    kp_names = ["red_mug", "microwave_handle"]
    landmarks = {"counter": [2.0, 0.0, 0.0], "table": [-2.0, 0.0, 0.0]}
    kp_index, lm = entity_points(ents, kp_names, landmarks)
    assert kp_index.tolist() == [0, -1, -1] and lm[:, 3].tolist() == [0, 1, 1] and lm[:, 4].tolist() == [0, 0, 0]
    assert entity_points(["microwave", "table"], ["microwave_handle", "table"], {})[1][:, 4].tolist() == [1, 0]
    state = np.zeros((1, 18), np.float32)
    state[0, 15:18] = [1.0, 0.0, np.pi]  # base at x=1 facing −x: base-frame +x is world −x
    kp = np.array([[[2.5, 0.0, 0.8], [0.0, 0.0, 0.0]]], np.float32)  # the mug 2.5 m ahead → world x = −1.5
    valid = np.array([[1.0, 0.0]], np.float32)
    mention = np.array([[0] + [-1] * (MAX_MENTIONS - 1)])
    hist = np.array([[1] + [-1] * (MAX_MENTIONS - 1)])
    f = entity_features(mention, hist, state, kp, valid, kp_index, lm)
    assert f.shape == (1, 3, ENTITY_FEATURES)
    assert f[0, 0, 0] == 1.0 and f[0, 1:, 0].sum() == 0  # the mug is the first mention
    near = f[0, :, MAX_MENTIONS]  # to places (areas: a landmark, no keypoint)
    assert near[2] > near[1] and near[0] == 0.0  # the table (x=−2) is nearer the mug than the counter
    assert np.all(f[0, :, 2 * MAX_MENTIONS] == 0)  # no landmark here is operable
    assert f[0, 1, 3 * MAX_MENTIONS] == 1.0 and f[0, 0, 3 * MAX_MENTIONS] == 0.0  # the history named the counter
    assert f[0, :, -1].tolist() == [0, 0, 0]  # none is operable
    valid[0, 0] = 0.0  # an unseen keypoint says nothing about nearness
    assert np.all(entity_features(mention, hist, state, kp, valid, kp_index, lm)[0, :, MAX_MENTIONS] == 0)
