"""Inference-time steering (VLS): reward programs and guided sampling."""
