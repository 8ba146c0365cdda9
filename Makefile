# Descent Lab: `make run` sets everything up and starts the server; `make test` runs the tests.
# The interpreter .venv is made from: the distribution's /usr/bin/python3 when it is 3.11 or newer
# and can make a venv, else the python3 on PATH. Debian builds its CPython with profile-guided
# optimisation and links it statically; a plain source build (pyenv's default) is neither, and the
# engine's step loop, Python calling small torch ops, ran 10-15% slower on it (bench/interpreters.py).
# `make PYTHON=...` chooses another; an existing .venv is kept (`make clean` to remake it).
PYTHON ?= $(shell /usr/bin/python3 -c 'import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 11))' \
	>/dev/null 2>&1 && echo /usr/bin/python3 || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench bench-load bench-data bench-rooms bench-answers bench-classroom bench-queue bench-together clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(TEST_STAMP)

# axe-core for the browser tests' accessibility audits: from the npm registry into .venv,
# injected into the page from that file (tests/browser/conftest.py), never from a CDN.
AXE_VERSION := 4.14.1
AXE_STAMP := $(VENV)/.installed-axe-$(AXE_VERSION)
$(AXE_STAMP): $(STAMP)
	npm install --silent --no-audit --no-fund --prefix $(VENV)/axe-core axe-core@$(AXE_VERSION)
	touch $(AXE_STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m uvicorn backend.main:app --host $(HOST) --port $(PORT)

# The browser tests run in a process of their own: Playwright's sync API keeps an
# event loop running in the main thread, which the asyncio-based tests cannot share.
# The unit, API and integration tests run in two processes (pytest-xdist): on the 2-core CI machine
# they took 474 s so on 2 December; in one process, the last CI runs spent 1,000-1,200 s on them.
test: $(TEST_STAMP) $(AXE_STAMP)
	$(BIN)/python -m pytest -q -n 2 tests/unit tests/api tests/integration
	$(BIN)/python -m pytest -q tests/browser

lint: $(TEST_STAMP)
	$(BIN)/ruff check backend tests bench
	$(BIN)/mypy backend

bench: $(TEST_STAMP)
	$(BIN)/python -m bench.trajectories
	$(BIN)/python -m bench.landscape

bench-load: $(TEST_STAMP)  # needs redis-server
	$(BIN)/python -m bench.load

bench-data: $(TEST_STAMP)  # the largest stored run, its exports, small runs' latency (#13)
	$(BIN)/python -m bench.data

bench-rooms: $(TEST_STAMP)  # 200 students in one live room over two replicas (#19); needs redis-server
	$(BIN)/python -m bench.rooms

bench-answers: $(TEST_STAMP)  # a room's 200 identical trajectory requests, answer cache off and on (#19)
	$(BIN)/python -m bench.answers

bench-classroom: $(TEST_STAMP)  # 30 students behind one address train and drag sliders at once
	$(BIN)/python -m bench.classroom

bench-queue: $(TEST_STAMP)  # a queued run's place in the queue, in a store of 20,000 runs
	$(BIN)/python -m bench.queue

bench-together: $(TEST_STAMP)  # 30 students drag a slider at once: computed together or one by one
	$(BIN)/python -m bench.together

clean:
	rm -rf $(VENV) data test-artifacts .pytest_cache .mypy_cache .ruff_cache
