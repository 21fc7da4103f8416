"""setuptools entry point for vla_stack.

Metadata, dependencies and entry points live in setup.cfg.  This file only adds
the ROS 2 ament_python ``data_files`` (package marker, package.xml, launch files,
hydra configs), which need a glob / directory walk.
"""

import os
from glob import glob

from setuptools import setup

PACKAGE = "vla_stack"
HERE = os.path.dirname(os.path.abspath(__file__))


def _rel(path: str) -> str:
    return os.path.relpath(path, HERE)


def _config_data_files() -> list[tuple[str, list[str]]]:
    """configs/**/*.yaml -> share/vla_stack/configs/<same subfolders>."""
    out: list[tuple[str, list[str]]] = []
    root = os.path.join(HERE, "configs")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        yamls = sorted(_rel(os.path.join(dirpath, f)) for f in filenames if f.endswith(".yaml"))
        if yamls:
            sub = os.path.relpath(dirpath, root)
            dest = os.path.join("share", PACKAGE, "configs")
            if sub != os.curdir:
                dest = os.path.join(dest, sub)
            out.append((dest, yamls))
    return out


data_files = [
    ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
    (f"share/{PACKAGE}", ["package.xml"]),
    (f"share/{PACKAGE}/launch", sorted(_rel(p) for p in glob(os.path.join(HERE, "launch", "*.py")))),
    *_config_data_files(),
]

setup(data_files=data_files)
