# Two commands for a new user:  make run  (set up + run the default pipeline),  make test.
# Everything is installed into .venv from requirements.txt (pinned); nothing is needed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= $(shell nproc 2>/dev/null || echo 2)  # this machine's cores; make run CORES=8 to override
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check --no-input -q

# CONFIG=my.yaml: your keys, merged over config/config.yaml (checked first: file, line and column)
CONFIG ?=
CONFIG_ARGS := $(if $(CONFIG),--configfile $(CONFIG))

.PHONY: install run test test-fast test-slurm bench bench-quick gpu-check lint format docs dry-run report compare crate clean help check-config

help:
	@echo "Outputs go under the config's output root: results/ by default (results-paper/ for config/paper.yaml)."
	@echo "make install   create .venv and install the pinned dependencies"
	@echo "make run       install, then run the default pipeline (snakemake --cores $(strip $(CORES))); report: results/report/index.html"
	@echo "make run CONFIG=my.yaml  the same with your settings (the file is checked first)"
	@echo "make dry-run   what make run would do (snakemake -n), nothing run; CONFIG= as for run"
	@echo "make check-config CONFIG=my.yaml  say where a config file fails to parse (file, line, column)"
	@echo "make test      install, then run the test suite (unit + real Snakemake runs) on $(TEST_WORKERS) cores"
	@echo "make test-fast the unit tests only (nothing that runs Snakemake or reads the tiny run)"
	@echo "make test-slurm  the tiny pipeline on a real one-node SLURM started here (root, apt-get)"
	@echo "make bench     benchmarks -> bench/results/*.json and bench/results/summary.md (the pipeline section: ~30 min)"
	@echo "make bench-quick  the same at small sizes (about 5 min)"
	@echo "make gpu-check  on a CUDA machine: tiny Q2/Q3 training on GPU vs CPU, paper-size throughput (< 8 min)"
	@echo "make lint      ruff (lint + format check), snakefmt --check, snakemake --lint"
	@echo "make crate     a finished run as a Workflow Run RO-Crate -> $(RESULTS).crate.zip (RESULTS=, CRATE=, CRATE_ARGS=--no-weights)"
	@echo "make format    apply ruff format and snakefmt"
	@echo "make report    snakemake --report -> $(RESULTS)/snakemake_report.html (after a run; CONFIGFILE=, RESULTS=)"
	@echo "make compare A=results B=results-paper  reproduction diff of two result roots -> $(OUT)/compare.{md,html,csv}"
	@echo "make docs      regenerate config/README.md (from config/config.yaml) and the per-job table of docs/paper-run.md (from bench/results)"
	@echo "make clean     remove results/ and .snakemake/ (keeps .venv, bench/results/ and results-*/ roots)"
	@echo "make help      this list"

install: $(STAMP)

# Re-installs when requirements.txt changes. torch==2.13.0 resolves to the CPU wheel where one
# is offered locally (pip's find-links); on a CUDA machine pip keeps an installed CUDA build.
# pip compiles every file to bytecode on one core; compileall does it on every core and skips the
# packages' own test suites, which nothing imports (make install 57 s -> 41 s on 2 cores). -x sees
# whole paths: anchored at site-packages, so a checkout under a folder named test/ is compiled too.
# Like pip, it passes over files this Python cannot compile (torch ships one in 3.12 syntax): || true.
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --no-compile -r requirements.txt 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -m compileall -q -j 0 -x 'site-packages/(.+/)?tests?/|site-packages/torch/testing/_internal/' \
		$(VENV)/lib > /dev/null || true
	$(BIN)/python -c "import torch, snakemake, pandas, seaborn, rapidfuzz" 
	touch $@

run: install check-config
	$(BIN)/snakemake --cores $(CORES) $(CONFIG_ARGS)
	@echo "The compiled report: $(CURDIR)/results/report/index.html (Markdown: results/report/report.md)"

dry-run: install check-config
	$(BIN)/snakemake -n --cores $(CORES) $(CONFIG_ARGS)

# Snakemake's own message for a config file that does not parse names neither file nor line.
check-config: install
	$(if $(CONFIG),PYTHONPATH=workflow $(BIN)/python -m hw2repro.config_files $(CONFIG))

# pytest-xdist: one worker per core, at most 4 (the real runs use 2 cores each); worksteal evens out
# the long tests at the end. The shared tiny run is made once for all workers (tests/conftest.py).
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)
PYTEST := $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=15

test: install
	$(PYTEST) tests

# The unit tests: every test not marked slow (slow = runs Snakemake or reads the shared tiny run).
test-fast: install
	$(PYTEST) -m "not slow" tests

# The pipeline on a real one-node SLURM cluster started on this machine (tests/slurm/localslurm.py).
# Needs root; installs slurmctld slurmd slurm-client munge with apt-get if missing. About 3-5 min.
# The hard timeout's SIGTERM still lets the test stop the cluster (60 s before SIGKILL).
test-slurm: install
	HW2REPRO_SLURM_TEST=1 timeout -k 60 900 $(BIN)/python -m pytest -q -s -rA -m slurm tests/test_slurm.py

# Benchmarks (not part of `make test`): bench/results/<section>.json and bench/results/summary.md (tracked).
# The pipeline section runs the default pipeline twice from scratch (--cores 1, --cores 2): ~30 min.
# Sections: BENCH_ARGS="--only q2-loop,noop,dag,q3,memory,pipeline,paper-scale"; a reduced
# paper-scale check: BENCH_ARGS="--only paper-scale --scale 0.02"
bench: install
	PYTHONPATH=workflow $(BIN)/python -m bench $(BENCH_ARGS)

# Small sizes and a reduced pipeline config: about 5 minutes.
bench-quick: install
	PYTHONPATH=workflow $(BIN)/python -m bench --quick $(BENCH_ARGS)

# The first thing to run where a GPU is lent (bench/gpu_check.py): the tiny config's Q2 and Q3
# training on the GPU and on the CPU, compared within stated tolerances, throughput at the paper's
# sizes, one record in bench/results/gpu-check.json; under 8 minutes. Without CUDA: one line, exit 0.
gpu-check: install
	PYTHONPATH=workflow timeout 480 $(BIN)/python -m bench.gpu_check

# Python: ruff (rules and format in pyproject.toml); Snakemake files: snakefmt (line length as ruff) and --lint.
SMK := Snakefile workflow/Snakefile $(wildcard workflow/rules/*.smk)
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check $(SMK)
	$(BIN)/snakemake --lint

# config/README.md is derived from config/config.yaml (a test checks it is current).
docs: install
	$(BIN)/python tests/config_doc.py > config/README.md
	PYTHONPATH=workflow $(BIN)/python -m bench.paper_table --write docs/paper-run.md

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	$(BIN)/snakefmt $(SMK)

# The output root is the config key `results`: for another config, give both, e.g.
#   make report CONFIGFILE=config/paper.yaml RESULTS=results-paper
RESULTS    ?= results
CONFIGFILE ?=
report: install
	$(BIN)/snakemake $(if $(CONFIGFILE),--configfile $(CONFIGFILE)) --report $(RESULTS)/snakemake_report.html

# Did run B reproduce run A? Two result roots (a copy of someone else's works: paths inside are
# relative). Exit status 0 when every number agrees within TOL (default 0: exact), 1 otherwise.
# COMPARE_ARGS=--bitwise also fails on weights or data that are not byte-identical.
A   ?= results
B   ?= results-paper
TOL ?= 0
OUT ?= compare
compare: install
	PYTHONPATH=workflow $(BIN)/python -m hw2repro.compare $(A) $(B) --tol $(TOL) --out $(OUT) $(COMPARE_ARGS)

# A finished run as one verifiable package (docs/crate.md); prints the crate's path.
#   make crate RESULTS=results-paper CRATE_ARGS=--no-weights
CRATE ?= $(RESULTS).crate.zip
crate: install
	@PYTHONPATH=workflow $(BIN)/python -m hw2repro.crate $(RESULTS) --out $(CRATE) $(CRATE_ARGS)

clean:
	rm -rf results .snakemake
