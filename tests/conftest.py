"""Test-session environment: headless rendering, no model hub.

Set at import time so that it happens before any test module imports mujoco,
PyOpenGL or huggingface_hub.  `setdefault` keeps whatever the caller chose
(e.g. MUJOCO_GL=egl on a GPU machine).
"""

import os

import pytest

os.environ.setdefault("MUJOCO_GL", "osmesa")
os.environ.setdefault("PYOPENGL_PLATFORM", "osmesa")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# gymnasium_robotics prints an Adroit reward-version notice to stderr on import
# (via farama_notifications, not the warnings module); drop it.
try:
    import farama_notifications

    farama_notifications.notifications.pop("gymnasium_robotics", None)
except Exception:  # pragma: no cover - optional dependency
    pass


@pytest.fixture(scope="module")
def env():
    """One kitchen_r env (default scene, privileged observations) per test module that asks for ``env``;
    a module that needs another defines its own."""
    from sim.envs.kitchen_r.env import KitchenREnv

    e = KitchenREnv()
    yield e
    e.close()
