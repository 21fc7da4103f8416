# vla_stack — one entry point for setting up and running everything.
#
#   make demo      install what is missing, then run the kitchen_r demo evaluation
#   make test      install what is missing, then run the pytest suite
#
# Every target runs inside $(VENV) (default .venv).  `make venv` is idempotent: it
# reinstalls only when setup.cfg / setup.py / constraints.txt change (stamp file).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY   := $(VENV)/bin/python
PIP  := $(PY) -m pip

# Python 3.12 used to create the venv: pyenv's 3.12.1 if present, else python3.12 on PATH.
ifeq ($(origin PYTHON312),undefined)
PYTHON312 := $(or $(wildcard $(HOME)/.pyenv/versions/3.12.1/bin/python),$(shell command -v python3.12 2>/dev/null))
endif

DEPS_FILES := setup.cfg setup.py constraints.txt requirements/libero.txt
DEPS_HASH  := $(shell cat $(DEPS_FILES) 2>/dev/null | sha256sum | cut -c1-16)
STAMP      := $(VENV)/.stamp-$(DEPS_HASH)

APT_PACKAGES ?= libosmesa6 libusb-1.0-0 ffmpeg espeak-ng

# Headless CPU rendering by default; override e.g. `make test MUJOCO_GL=egl`.
MUJOCO_GL          ?= osmesa
PYOPENGL_PLATFORM  ?= osmesa
GL_ENV := MUJOCO_GL=$(MUJOCO_GL) PYOPENGL_PLATFORM=$(PYOPENGL_PLATFORM)

export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

DEMO_ARGS   ?=
PYTEST_ARGS ?=
BENCH_ARGS  ?=

.PHONY: help venv apt deps demo test bench constraints clean distclean

help:
	@echo "make demo        run the kitchen_r demo evaluation (installs deps first)"
	@echo "make test        run the test suite (PYTEST_ARGS='-m \"not slow\"' etc.)"
	@echo "make bench       benchmark suite (bench/run.py) -> docs/benchmarks/report.{json,md} (BENCH_ARGS='--skip eval --asr' etc.)"
	@echo "make deps        apt + venv"
	@echo "make apt         install missing system packages: $(APT_PACKAGES)"
	@echo "make venv        create/refresh $(VENV) (no-op when up to date)"
	@echo "make constraints regenerate constraints.txt from $(VENV)'s pip freeze"
	@echo "make clean       remove caches and build outputs (keeps $(VENV))"
	@echo "make distclean   clean + remove $(VENV)"

venv: $(STAMP)

$(STAMP):
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "error: no Python 3.12 found (looked for $(HOME)/.pyenv/versions/3.12.1/bin/python and python3.12 on PATH)." >&2; \
	  echo "       install it (e.g. 'pyenv install 3.12.1') or pass PYTHON312=/path/to/python3.12" >&2; \
	  exit 1; \
	fi
	@"$(PYTHON312)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' || { \
	  echo "error: PYTHON312=$(PYTHON312) is not Python 3.12 ($$("$(PYTHON312)" --version 2>&1))" >&2; exit 1; }
	@if [ -e "$(PY)" ] && ! "$(PY)" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then \
	  echo "venv: $(VENV) is not a working Python 3.12 venv; recreating"; rm -rf -- "$(VENV)"; \
	fi
	@if [ ! -x "$(PY)" ]; then echo "venv: creating $(VENV) with $(PYTHON312)"; "$(PYTHON312)" -m venv "$(VENV)"; fi
	$(PIP) install --quiet --upgrade pip
	$(PIP) install -c constraints.txt -e ".[dev]"
	$(PIP) install --no-deps -r requirements/libero.txt
	@rm -f "$(VENV)"/.stamp-*
	@touch "$@"
	@echo "venv: $(VENV) up to date ($(DEPS_HASH))"

apt:
	@if ! command -v dpkg >/dev/null 2>&1; then \
	  echo "apt: no dpkg (not Debian/Ubuntu); make sure these are installed: $(APT_PACKAGES)" >&2; exit 0; \
	fi; \
	missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "error: need root or sudo to install:$$missing" >&2; exit 1; fi; \
	echo "apt: installing$$missing"; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing

deps: apt venv

demo: deps
	$(GL_ENV) $(PY) sim/eval.py --bench kitchen_r $(DEMO_ARGS)

test: deps
	$(GL_ENV) $(PY) -m pytest -q $(PYTEST_ARGS)

bench: deps
	$(GL_ENV) $(PY) bench/run.py $(BENCH_ARGS)

# Pin the whole environment after a deliberate upgrade (then update the pins in setup.cfg).
constraints:
	@{ echo "# Full pinned environment (pip freeze of the reference venv, Python 3.12)."; \
	   echo "# Regenerate with \`make constraints\`; used as \`pip install -c constraints.txt\`."; \
	   $(PIP) freeze --exclude-editable | grep -v -i -E '^(-e |vla[-_]stack)'; } > constraints.txt.tmp
	@mv constraints.txt.tmp constraints.txt
	@echo "constraints.txt: $$(grep -vc '^#' constraints.txt) pins"

clean:
	find . \( -path ./.venv -o -path "./$(VENV)" -o -path ./.git \) -prune -o \
	  \( -name __pycache__ -o -name .pytest_cache -o -name .hypothesis -o -name '*.egg-info' \) -type d -print0 \
	  | xargs -0 rm -rf --
	rm -rf build dist .eggs

distclean: clean
	rm -rf -- "$(VENV)"
