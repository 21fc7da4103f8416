"""VLMPlanner's whole path on a tiny random-weight LLaVA built here (no weights can be fetched):
processor, chat template, generate, strict parsing, retry and abstention; and, once the tiny
model is taught one reply, a parsed plan with a confidence."""

import numpy as np
import pytest
import torch

from vla_core.observation import Observation, Proprio
from vla_core.planners.vlm import VLMPlanner
from vla_core.plans import Instruction, LanguageMotion

CHARS = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 {}[]\":,.-_'<>|();=+/\n")
REPLY = '{"instruction": "grasp the red mug", "confidence": 0.9}'


def tiny_vlm(path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import (CLIPImageProcessor, CLIPVisionConfig, LlamaConfig, LlavaConfig,
                              LlavaForConditionalGeneration, LlavaProcessor, PreTrainedTokenizerFast)

    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "<image>": 4}
    for c in CHARS:
        vocab.setdefault(c, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split("", "isolated")  # one token per character
    tok.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                        unk_token="<unk>", extra_special_tokens={"image_token": "<image>"})
    template = ("{% for m in messages %}{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>"
                "{% else %}{{ c['text'] }}{% endif %}{% endfor %}\n{% endfor %}{% if add_generation_prompt %}A:{% endif %}")
    processor = LlavaProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                                  crop_size={"height": 32, "width": 32}),
                               tokenizer=tokenizer, patch_size=16, vision_feature_select_strategy="default",
                               chat_template=template, num_additional_image_tokens=1)
    cfg = LlavaConfig(vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                                     num_attention_heads=2, image_size=32, patch_size=16),
                      text_config=LlamaConfig(vocab_size=len(vocab), hidden_size=64, intermediate_size=128,
                                              num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2,
                                              max_position_embeddings=1024),
                      image_token_index=4, vision_feature_select_strategy="default", vision_feature_layer=-1)
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(cfg)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return model, processor


def observation(rgb=True):
    prop = Proprio(np.zeros(7), 0.04, np.array([0.5, 0.0, 0.4]), np.array([0.0, 1.0, 0.0, 0.0]), np.zeros(3))
    img = {"head": (np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8)} if rgb else {}
    return Observation(prop, np.zeros((1, 3), np.float32), ("red_mug",), "pick the red mug", 0.0, rgb=img)


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    path = tmp_path_factory.mktemp("vlm")
    tiny_vlm(path)
    return path


def test_random_model_replies_are_retried_then_abstained(untrained):
    planner = VLMPlanner.load(str(untrained), kind="instruction", retries=2, max_new_tokens=24)
    calls = []
    real = planner.generate
    planner.generate = lambda img, text: calls.append(text) or real(img, text)
    planner.reset("pick the red mug")
    res = planner.plan(observation())
    assert res.confidence == 0.0 and res.abstain_reason and isinstance(res.plan, LanguageMotion)
    assert res.plan.text == "stop"
    assert len(calls) == 3 and "was not valid" in calls[1]  # the reason goes back to the model
    assert "Task: pick the red mug" in calls[0] and '"instruction"' in calls[0]


def test_no_camera_image_abstains(untrained):
    res = VLMPlanner.load(str(untrained)).plan(observation(rgb=False))
    assert res.confidence == 0.0 and "camera" in res.abstain_reason


def test_a_model_that_answers_gives_a_parsed_plan(tmp_path):
    """Teach the tiny model one reply to the first prompt; the loaded planner parses it."""
    model, processor = tiny_vlm(tmp_path)
    probe = VLMPlanner(lambda img, text: ("", 0.0), kind="instruction")
    probe.reset("pick the red mug")
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": probe.prompt()}]}]
    prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
    batch = processor(images=[observation().rgb["head"]], text=prompt + REPLY + "</s>", return_tensors="pt")
    n_prompt = processor(images=[observation().rgb["head"]], text=prompt, return_tensors="pt")["input_ids"].shape[1]
    labels = batch["input_ids"].clone()
    labels[:, :n_prompt] = -100
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(150):
        loss = model(**batch, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.save_pretrained(tmp_path)
    planner = VLMPlanner.load(str(tmp_path), kind="instruction", max_new_tokens=len(REPLY) + 4)
    planner.reset("pick the red mug")
    res = planner.plan(observation())
    assert res.abstain_reason is None, res.abstain_reason
    assert res.plan == Instruction("grasp the red mug") and 0.5 < res.confidence <= 0.9
    assert planner.said == ["grasp the red mug"]


def test_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        VLMPlanner(lambda i, t: ("", 0.0), kind="poem")
    with pytest.raises(ValueError, match="retries"):
        VLMPlanner(lambda i, t: ("", 0.0), retries=-1)
