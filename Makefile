# Two commands for a new user:  make run  (set up + run the default pipeline),  make test.
# Everything is installed into .venv from requirements.txt (pinned); nothing is needed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORES  ?= 4
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/python -m pip --disable-pip-version-check --no-input -q

.PHONY: install run test test-slurm lint dry-run report clean help

help:
	@echo "make install   create .venv and install the pinned dependencies"
	@echo "make run       install, then run the default pipeline (snakemake --cores $(CORES))"
	@echo "make test      install, then run the test suite (unit + real Snakemake runs)"
	@echo "make test-slurm  the tiny pipeline on a real one-node SLURM started here (root, apt-get)"
	@echo "make lint      snakemake --lint"
	@echo "make report    snakemake --report results/snakemake_report.html (after a run)"
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

lint: install
	$(BIN)/snakemake --lint

report: install
	$(BIN)/snakemake --report results/snakemake_report.html

clean:
	rm -rf results .snakemake
