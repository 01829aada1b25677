# Every target creates and reuses .venv by itself: a fresh machine needs only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

.PHONY: run up test lint typecheck unit bench package clean

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)  ## the main job, locally
	$(BIN)/python -m infra.local.run

up: $(STAMP)  ## the local stack, kept running for curl
	$(BIN)/python -m infra.local.up

test: $(STAMP) lint typecheck unit  ## the whole suite

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)  ## one report, ratios against baselines measured in the same run
	$(BIN)/python -m bench

STAGE ?= dev
# The template is region-neutral (it uses AWS::Region), but Chalice wants one to package.
package: export AWS_DEFAULT_REGION ?= us-east-1
package: $(STAMP)  ## a deployable SAM template and zip (with bytecode) in build/package
	rm -rf build/package
	$(BIN)/chalice package --stage $(STAGE) --merge-template infra/app-extras.yaml build/package
	$(BIN)/python -m infra.bytecode build/package/deployment.zip

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
