# Two commands for a new user:  make run  (set up + run the default pipeline),  make test.
# Everything is installed into .venv from requirements.txt (pinned); nothing is needed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= 4
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check --no-input -q

.PHONY: install run test test-slurm bench bench-quick lint dry-run report compare clean help

help:
	@echo "make install   create .venv and install the pinned dependencies"
	@echo "make run       install, then run the default pipeline (snakemake --cores $(CORES))"
	@echo "make test      install, then run the test suite (unit + real Snakemake runs)"
	@echo "make test-slurm  the tiny pipeline on a real one-node SLURM started here (root, apt-get)"
	@echo "make bench     benchmarks -> results/bench/summary.md (the pipeline section: ~30 min)"
	@echo "make bench-quick  the same at small sizes (about 5 min)"
	@echo "make lint      snakemake --lint"
	@echo "make report    snakemake --report $(RESULTS)/snakemake_report.html (after a run; CONFIGFILE=, RESULTS=)"
	@echo "make compare A=results B=results-paper  reproduction diff of two result roots -> $(OUT)/compare.{md,html,csv}"
	@echo "make clean     remove results/ and .snakemake/ (keeps .venv)"

install: $(STAMP)

# Re-installs when requirements.txt changes. torch==2.13.0 resolves to the CPU wheel where one
# is offered locally (pip's find-links); on a CUDA machine pip keeps an installed CUDA build.
$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt 2>&1 | grep -v "is ignored: it is neither" || true
	$(BIN)/python -c "import torch, snakemake, pandas, seaborn, rapidfuzz" 
	touch $@

run: install
	$(BIN)/snakemake --cores $(CORES)

dry-run: install
	$(BIN)/snakemake -n --cores $(CORES)

test: install
	$(BIN)/python -m pytest -q tests

# The pipeline on a real one-node SLURM cluster started on this machine (tests/slurm/localslurm.py).
# Needs root; installs slurmctld slurmd slurm-client munge with apt-get if missing. About 3-5 min.
# The hard timeout's SIGTERM still lets the test stop the cluster (60 s before SIGKILL).
test-slurm: install
	HW2REPRO_SLURM_TEST=1 timeout -k 60 900 $(BIN)/python -m pytest -q -s -rA -m slurm tests/test_slurm.py

# Benchmarks (not part of `make test`): results/bench/<section>.json and results/bench/summary.md.
# The pipeline section runs the default pipeline twice from scratch (--cores 1, --cores 2): ~30 min.
# Sections: BENCH_ARGS="--only q2-loop,noop,dag,q3,pipeline"
bench: install
	$(BIN)/python bench/run_benchmarks.py $(BENCH_ARGS)

# Small sizes and a reduced pipeline config: about 5 minutes.
bench-quick: install
	$(BIN)/python bench/run_benchmarks.py --quick $(BENCH_ARGS)

lint: install
	$(BIN)/snakemake --lint

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
	$(BIN)/python workflow/scripts/compare_runs.py $(A) $(B) --tol $(TOL) --out $(OUT) $(COMPARE_ARGS)

clean:
	rm -rf results .snakemake
