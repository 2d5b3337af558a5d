# Two commands for a fresh machine: `make demo` and `make test` (README quick start).
# Both create .venv when missing and install the package into it once (stamp file).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pgan_tf-installed
DEMO_DIR ?= demo_out
comma := ,
# One TensorFlow distribution per environment (they share the tensorflow/ folder), chosen by the
# package extra: `cpu` (tensorflow-cpu) where no NVIDIA GPU is visible, `gpu` (tensorflow[and-cuda])
# otherwise. Override: make TF_EXTRA=gpu ... (TF_EXTRA= installs no TensorFlow: bring your own).
TF_EXTRA ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && echo gpu || echo cpu)
# Quiet TensorFlow's C++ start-up chatter (CUDA probes on CPU machines).
export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED := 1

.PHONY: demo test test-slow soak install clean

install: $(STAMP)

$(STAMP): setup.py
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e '.[$(if $(TF_EXTRA),$(TF_EXTRA)$(comma))test]'
	@touch $(STAMP)

# The install's seconds for the demo's timings (tools/demo_timings.py): 0 when the stamp is
# newer than setup.py (nothing to install), else the time since make started.
MAKE_START := $(shell date +%s)
INSTALLED := $(shell test $(STAMP) -nt setup.py && echo 1)

demo: $(STAMP)
	PGAN_TF_INSTALL_SECONDS=$(if $(INSTALLED),0,$$(( $$(date +%s) - $(MAKE_START) ))) \
	  bash tools/demo.sh $(DEMO_DIR)

test: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not soak" tests

# Slower end-to-end checks (marker `slow`), run by .ci/run before `make test`. pytest exits 5 when
# no test is marked slow; that is not a failure here.
test-slow: $(STAMP)
	$(PY) -m pytest -q -m "slow and not soak" tests || [ $$? -eq 5 ]

# Soak: 12 SIGKILLs at random moments, inside checkpoint writes and at stage changes.
soak: $(STAMP)
	PGAN_TF_SOAK_KILLS=$${PGAN_TF_SOAK_KILLS:-12} $(PY) -m pytest -q tests/test_soak.py

clean:
	rm -rf $(DEMO_DIR)
