"""The benchmark suite (``make bench``): every figure a ratio measured side by side in one run.

Sections (``python -m bench --only ...``, one module each), each written to ``bench/results/<section>.json``
with the machine, threads, versions, git commit, time stamp and load average it ran under:

* ``q2-loop``: Q2 training throughput (samples/s, one epoch, batch 8, one thread) of the pipeline's
  loop (:func:`hw2repro.hw2repro.q2.train.train`) against the homework-style loop (a ``Dataset`` with a
  per-item ``__getitem__`` and ``DataLoader(batch_size=8, shuffle=True)``, written here), and
  against the model's arithmetic limit (training FLOPs per sample from the layer shapes over the
  machine's measured one-thread matmul rate). Both loops must end with identical weights.
* ``noop``: ``snakemake -n`` on an up-to-date workflow (no-op overhead).
* ``dag``: ``snakemake -n`` on an empty results folder for the paper grid and the default grid (DAG
  build time and job counts).
* ``q3``: feature extraction clips/s, training samples/s per decoder, greedy decoding samples/s per
  decoder the original's way (``greedy_decode(cache=False)``: the Transformer re-runs the prefix
  at every step) and with the KV cache the pipeline uses, with the tokens of both compared; on
  CUDA as well when torch sees a GPU.
* ``memory``: peak RSS of ``q3_features`` and peak anonymous memory of ``q3_train`` at the paper's
  2,754 frames for three corpus sizes, and the ratio largest / smallest (``bench/memory.py``).
* ``paper-scale``: the paper config's real jobs on full-size synthetic stand-ins of OCTMNIST and LJ
  Speech (``bench/paper_scale.py``); ``--scale`` shrinks it for a check.
* ``pipeline``: the whole default pipeline from scratch with ``--cores 1`` and with ``--cores 2``
  in two fresh copies of the workflow (parallel speed-up), then the no-op ``snakemake -n`` in the
  finished copy.

``summary.md`` is rebuilt from every ``bench/results/*.json`` present: a table of figure, value,
target and whether it is met, with the conditions of each section, and the paper-run cost
estimate derived from the measured per-sample rates.

Run from the repository root with the package on the path (``make bench`` does):
``PYTHONPATH=workflow python -m bench [--only ...] [--quick]``.
"""
