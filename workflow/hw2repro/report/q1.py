"""The report's Q1 section: setup, verification, scaling (laid out from render.collect_q1's tables)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .blocks import QUESTION_TITLES, Table, figure, heading, kv_rows, num, table_block, text


def q1_section(data: dict, figures: list[str], caption_files: dict) -> dict:
    """``data``: render.collect_q1's tables (q1_verification, q1_observations, q1_complexity,
    q1_crossover) and the benchmark's recorded environment (env)."""
    summary, observations = data["q1_verification"], data["q1_observations"]
    complexity, crossover = data["q1_complexity"], data["q1_crossover"]
    env = data["env"]
    settings = env.get("settings", {})
    n_checks, n_passed = int(summary["n"].sum()), int(summary["passed"].sum())
    setup = [
        ("data", "none: random q, k, v drawn by the pipeline (nothing to download, nothing synthetic to compare)"),
        ("torch threads", env.get("torch_threads")),
        ("dtype of the benchmark", settings.get("dtype")),
        ("sequence lengths L", ", ".join(str(x) for x in settings.get("lengths", []))),
        ("head dimensions D", ", ".join(str(x) for x in settings.get("dims", []))),
        ("feature maps", ", ".join(settings.get("constructions", []))),
        ("Taylor terms K (timed)", settings.get("terms")),
        ("CPU", f"{env.get('cpu', '–')} ({env.get('cpu_isa', '–')})"),
        ("torch / Python", f"{env.get('torch', '–')} / {env.get('python', '–')}"),
    ]
    blocks = [
        text("Nothing is trained in Q1: the pipeline checks the maths of the Taylor feature map "
             "(kernel identity, feature dimension M, linear = quadratic order) and measures exact softmax "
             "attention against the linear form. The published results list no Q1 numbers; the homework's "
             "complexity claims are compared with what this machine measured."),
        table_block(Table("q1-setup", "Setup", ["setting", "value"], kv_rows(setup))),
        heading("Verification"),
        text(f"{n_passed} of {n_checks} checks passed"
             + (" — every check holds." if n_passed == n_checks else " — SOME CHECKS FAILED.")),
        table_block(Table(
            "q1-verification", "Verification checks (float64)",
            ["check", "feature map", "passed", "largest error", "in machine ε", "tolerance"],
            [[r.check, r.construction, f"{r.passed}/{r.n}", num(r.max_error, 2), num(r.max_error_in_eps, 1),
              num(r.tolerance, 2)] for r in summary.itertuples()],
            row_classes=["" if r.all_passed else "bad" for r in summary.itertuples()])),
    ]
    if len(observations):
        blocks.append(table_block(Table(
            "q1-observations", "Observations (measured facts, not pass/fail)",
            [c for c in observations.columns],
            [[num(v, 4) if isinstance(v, float) else str(v) for v in row]
             for row in observations.itertuples(index=False)])))
    blocks += [
        heading("Scaling"),
        table_block(Table(
            "q1-complexity", "Complexity claims vs measured exponents",
            ["claim", "method", "D", "quantity", "claimed", "measured", "detail"],
            [[r.claim, r.method, "–" if pd.isna(r.D) else str(int(r.D)), r.quantity, num(r.claimed, 2),
              num(r.measured, 2), str(r.detail)] for r in complexity.itertuples()])),
        table_block(Table(
            "q1-crossover", "Where the linear form becomes faster",
            ["method", "D", "M", "crossover L (interpolated)", "first grid L", "speed-up at max L",
             "memory ratio at max L"],
            [[r.method, str(int(r.D)), str(int(r.M)), num(r.crossover_L_interp, 0), num(r.crossover_L_grid, 0),
              f"{r.speedup_at_max_L:.1f}× (L={int(r.max_L):,})", f"{r.memory_ratio_at_max_L:.1f}×"]
             for r in crossover.itertuples()])),
        {"type": "figures", "items": [
            figure(p, Path(p).stem, caption_files) for p in figures]},
    ]
    return {"key": "q1", "title": QUESTION_TITLES["q1"], "ran": True, "synthetic": False, "blocks": blocks,
            "setup": setup, "headline": f"{n_passed}/{n_checks} verification checks passed; "
                        f"{len(complexity)} complexity claims measured"}
