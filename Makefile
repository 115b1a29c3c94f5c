# Each target sets up what it needs: `make demo` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint model model-accurate semeval bench browser-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev,mpnet]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/detente score examples/article.txt --format table

test: $(STAMP) browser-deps
	$(BIN)/python -m pytest -q

# Headless Chromium for the page test (Debian packages; skipped quietly where apt is absent).
browser-deps:
	@test -x /usr/bin/chromium || (command -v apt-get >/dev/null && \
		(apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium chromium-driver >/dev/null 2>&1)) \
		|| echo "chromium not installed: the browser test will skip")

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Rebuild the shipped models from their configs (need ../shared/data). The accurate model
# (all-mpnet-base-v2 + LoRA) is the teacher; the default (MiniLM-L6) learns from the gold
# corpora plus the teacher's probabilities on train-split news sentences (runs/distill).
model-accurate: $(STAMP)
	$(BIN)/detente train --config configs/accurate.yaml --output model/accurate

model: $(STAMP)
	$(BIN)/python -m detente.training.distill --teacher accurate --shared ../shared/data \
		--out runs/distill/soft.jsonl
	$(BIN)/detente train --config configs/default.yaml --output model/default

semeval: $(STAMP)
	$(BIN)/detente train --config configs/semeval.yaml --output runs/semeval

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_throughput.py
	$(BIN)/python benchmarks/bench_http.py
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_speakers.py

clean:
	rm -rf runs .pytest_cache
