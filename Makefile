# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv when missing and install everything the package needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch pinned: on these machines 2.13.0 is a local CPU build; unpinned pulls CUDA (GBs).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	# Fashion-MNIST (IDX files) comes from Debian; optional, installed where apt is usable.
	dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1; } \
	  || echo "note: dataset-fashion-mnist not installed (needs root and apt); --data fashion-mnist will say so"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/eccentric demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

lint: $(STAMP)
	$(BIN)/ruff check .

# the optional peers (KeOps, JAX) are installed here only, not for `make test`
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/eccentric bench --out results/bench

clean:
	rm -rf $(VENV) results .pytest_cache
