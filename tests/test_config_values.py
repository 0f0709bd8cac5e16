"""Strict at the door: NaN, infinities, out-of-range seeds, absurd physical values and unusable output
roots are refused before any job, one line naming the key."""

import math

import pytest
from test_config import merged

from conftest import load_default_config
from hw2repro import config_checks, config_values


@pytest.mark.parametrize(
    "override, line",
    [
        ({"q3": {"label_smoothing": math.nan}}, "invalid config: q3.label_smoothing: nan is not a finite number"),
        ({"q3": {"lr": math.nan}}, "invalid config: q3.lr: nan is not a finite number"),
        ({"q2": {"dropout": math.nan}}, "invalid config: q2.dropout: nan is not a finite number"),
        ({"q2": {"lrs": [0.1, math.nan]}}, "invalid config: q2.lrs[1]: nan is not a finite number"),
        ({"q2": {"l2_decay": math.inf}}, "invalid config: q2.l2_decay: inf is not a finite number"),
        ({"q2": {"seeds": [2**32]}}, "invalid config: q2.seeds[0]: seed 4294967296 is outside 0..4294967295"),
        ({"q1": {"seed": -1}}, "invalid config: q1.seed: seed -1 is outside 0..4294967295"),
        (
            {"q3": {"features": {"sample_rate_assumed": 10**9}}},
            "invalid config: q3.features.sample_rate_assumed: 1000000000 is outside 8000..192000",
        ),
    ],
)
def test_insane_numbers_are_refused_naming_the_key(override, line):
    found = config_checks.problems(merged(load_default_config(), override))
    assert len(found) == 1 and found[0].startswith(line), found


def test_the_nan_rule_walks_every_key_not_a_list():
    # a key no rule names, at any depth: the generic walk finds it
    found = config_values.number_problems({"a": {"b": [1, {"c": -math.inf}]}})
    assert found == ["invalid config: a.b[1].c: -inf is not a finite number"]


@pytest.mark.parametrize(
    "value, fragment",
    [
        ("", "empty"),
        ("  ", "empty"),
        ("/", "the file system's root"),
        (".", "the working directory or a folder above it"),
        ("..", "the working directory or a folder above it"),
        ("a_file", "an existing file"),
        ("workflow/out", "inside the checkout's workflow/ folder"),
        ("config", "inside the checkout's config/ folder"),
    ],
)
def test_unusable_output_roots_are_refused(tmp_path, value, fragment):
    (tmp_path / "a_file").write_text("x")
    line = config_values.results_root_problem(value, cwd=tmp_path, repo=tmp_path)
    assert line and line.startswith("invalid config: results: ") and fragment in line, line


@pytest.mark.parametrize("value", ["results", "results-tiny", "../elsewhere/results", "/tmp/x/results"])
def test_usable_output_roots_pass(tmp_path, value):
    assert config_values.results_root_problem(value, cwd=tmp_path / "repo", repo=tmp_path / "repo") is None
