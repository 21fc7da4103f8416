"""VLMPlanner: any transformers image-text-to-text model (Qwen2.5-VL, SmolVLM, PaliGemma, LLaVA …)
as a planner, from a local folder or a hub id.

    planner = VLMPlanner.load("HuggingFaceTB/SmolVLM-256M-Instruct", kind="instruction")

Each call: the camera image, the task, the plans said so far and the plan kind's JSON answer
format go into the model's chat template; the reply is parsed strictly (``parse.parse_plan``:
data, never code). An unparseable or out-of-grammar reply is retried with the reason appended;
after ``retries`` failures the planner abstains with that reason (plan "stop", confidence 0),
so the loop asks for help instead of crashing. Confidence is the model's own (when its JSON
gives one) times the geometric-mean probability of the reply's tokens.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from vla_core.planners.base import PlanResult
from vla_core.planners.parse import KINDS, PlanParseError, parse_plan
from vla_core.plans import LanguageMotion

ANSWER_FORMAT = {
    "motion": '{"motion": "<one RT-H motion, e.g. move arm forward and down | close gripper | move base forward>", '
              '"confidence": <0..1>}',
    "instruction": '{"instruction": "<one short sentence: the robot\'s next sub-step>", "confidence": <0..1>}',
    "path": '{"path": [[x, y, z, gripper], ...], "confidence": <0..1>}  (end-effector waypoints in metres, robot '
            'base frame: x forward, y left, z up; gripper 0 open, 1 closed)',
}
HISTORY = 4  # previous plans shown to the model


class VLMPlanner:
    def __init__(self, generate: Callable[[np.ndarray, str], tuple[str, float]], kind: str = "instruction",
                 camera: str = "head", retries: int = 2):
        """``generate(image (H, W, 3) uint8, prompt text) → (reply, token probability in [0, 1])``."""
        if kind not in KINDS:
            raise ValueError(f"VLM planner kind must be one of {KINDS}, got {kind!r}")
        if retries < 0:
            raise ValueError(f"retries must be ≥ 0, got {retries}")
        self.generate, self.kind, self.camera, self.retries = generate, kind, camera, retries
        self.reset("")

    @classmethod
    def load(cls, model: str, kind: str = "instruction", camera: str = "head", retries: int = 2,
             max_new_tokens: int = 96, device: str = "cpu") -> "VLMPlanner":
        """``model``: a local folder or a hub id (cached: this loads offline when HF_HUB_OFFLINE=1)."""
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        processor = AutoProcessor.from_pretrained(model)
        net = AutoModelForImageTextToText.from_pretrained(model).to(device).eval()

        def generate(image: np.ndarray, text: str) -> tuple[str, float]:
            messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]
            prompt = processor.apply_chat_template(messages, add_generation_prompt=True)
            inputs = processor(images=[image], text=prompt, return_tensors="pt").to(device)
            with torch.no_grad():
                out = net.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                   output_scores=True, return_dict_in_generate=True)
            new = out.sequences[0, inputs["input_ids"].shape[1]:]
            logp = [torch.log_softmax(s[0].float(), -1)[t].item() for s, t in zip(out.scores, new)]
            prob = math.exp(sum(logp) / len(logp)) if logp else 0.0
            return processor.decode(new, skip_special_tokens=True), prob

        return cls(generate, kind, camera, retries)

    def reset(self, task: str) -> None:
        self.task = task
        self.said: list[str] = []

    def prompt(self, note: str | None = None) -> str:
        lines = ["You are the planner of a mobile Franka robot in a kitchen. Look at the image from its "
                 f"{self.camera} camera.", f"Task: {self.task}"]
        if self.said:
            lines.append("Plans so far (oldest first): " + " | ".join(self.said[-HISTORY:]))
        lines.append(f"Say the robot's next {self.kind} as one JSON object and nothing else: {ANSWER_FORMAT[self.kind]}")
        if note:
            lines.append(f"Your previous reply was not valid ({note}). Reply with the JSON object only.")
        return "\n".join(lines)

    def plan(self, obs) -> PlanResult:
        image = obs.rgb.get(self.camera) if obs.rgb else None
        if image is None:
            return self._abstain(f"no {self.camera!r} camera image in the observation (bench.cameras)")
        note = None
        for _ in range(self.retries + 1):
            try:
                reply, prob = self.generate(image, self.prompt(note))
            except Exception as e:  # a model or processor failure is an abstention, not a crash
                return self._abstain(f"the model failed: {type(e).__name__}: {str(e)[:120]}")
            try:
                parsed = parse_plan(reply, self.kind)
            except PlanParseError as e:
                note = str(e)
                continue
            self.said.append(parsed.plan.to_text())
            own = parsed.confidence if parsed.confidence is not None else 1.0
            return PlanResult(parsed.plan, float(np.clip(own * prob, 0.0, 1.0)))
        return self._abstain(f"no valid {self.kind} after {self.retries + 1} replies; last: {note}")

    @staticmethod
    def _abstain(reason: str) -> PlanResult:
        return PlanResult(LanguageMotion("stop"), 0.0, abstain_reason=reason)
