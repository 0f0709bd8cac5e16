"""Config validation: the shipped configs pass; bad keys and values fail, naming the key."""

import ast
import copy
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from conftest import REPO, copy_workflow, load_default_config, snakemake, write_config
from hw2repro import config_checks, config_files

SCHEMA = str(REPO / "workflow" / "schemas" / "config.schema.yaml")


def merged(base: dict, override: dict) -> dict:
    """Snakemake's --configfile merge: nested dicts are updated key by key."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "tiny.yaml"])
def test_shipped_configs_are_valid(name):
    config = merged(load_default_config(), yaml.safe_load((REPO / "config" / name).read_text()))
    validate(config, SCHEMA, set_default=True)


def test_paper_config_is_the_homework_setting():
    config = merged(load_default_config(), yaml.safe_load((REPO / "config" / "paper.yaml").read_text()))
    q2 = config["q2"]
    assert config["data"]["octmnist"]["source"] == "download"
    assert (q2["epochs"], q2["batch_size"], q2["dropout"], q2["optimizer"]) == (15, 8, 0.7, "sgd")
    assert q2["lrs"] == [0.1, 0.01, 0.001] and q2["seeds"] == [42, 43, 44, 45, 46]


@pytest.mark.parametrize(
    "override, fragment",
    [
        ({"q2": {"lrz": [0.1]}}, "'lrz' was unexpected"),
        ({"q2": {"lrs": [-0.1]}}, "['q2']['lrs'][0]"),
        ({"q2": {"lrs": []}}, "['q2']['lrs']"),
        ({"q2": {"poolings": ["avg"]}}, "['q2']['poolings'][0]"),
        ({"q2": {"epochs": 0}}, "['q2']['epochs']"),
        ({"q2": {"seeds": [42, 42]}}, "['q2']['seeds']"),
        ({"data": {"octmnist": {"source": "ftp"}}}, "['data']['octmnist']['source']"),
        ({"data": {"octmnist": {"source": "file"}}}, "'path'"),
        ({"data": {"octmnist": {"synthetic": {"n_trian": 5}}}}, "'n_trian' was unexpected"),
    ],
)
def test_bad_config_is_rejected_naming_the_key(override, fragment):
    config = merged(load_default_config(), override)
    with pytest.raises(WorkflowError) as err:
        validate(config, SCHEMA, set_default=True)
    assert fragment in str(err.value)


def test_conda_env_pins_match_requirements():
    reqs = {
        line.split("==")[0].split("[")[0]: line.split("==")[1]
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    env = yaml.safe_load((REPO / "envs" / "hw2.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    for pin in pip:
        name, version = pin.split("==")
        assert reqs.get(name) == version, f"envs/hw2.yaml pins {pin}, requirements.txt {reqs.get(name)}"
    runtime = {"torch", "numpy", "pandas", "matplotlib", "seaborn", "rapidfuzz", "pyyaml"}
    assert runtime <= {p.split("==")[0] for p in pip}


def schema_leaves(schema: dict, path: str = "") -> set[str]:
    out = set()
    for key, sub in schema.get("properties", {}).items():
        dotted = f"{path}.{key}" if path else key
        out |= schema_leaves(sub, dotted) if "properties" in sub else {dotted}
    return out


def config_leaves(config: dict, path: str = "") -> set[str]:
    out = set()
    for key, value in config.items():
        dotted = f"{path}.{key}" if path else key
        out |= config_leaves(value, dotted) if isinstance(value, dict) else {dotted}
    return out


def test_every_default_lives_in_config_yaml_and_nowhere_else():
    schema = yaml.safe_load(Path(SCHEMA).read_text())

    def defaults(node):
        if isinstance(node, dict):
            return ("default" in node) + sum(defaults(v) for v in node.values())
        return sum(defaults(v) for v in node) if isinstance(node, list) else 0

    assert defaults(schema) == 0  # the schema checks; it does not fill in
    assert schema_leaves(schema) == config_leaves(load_default_config())


def test_config_readme_is_current_and_documents_every_key():
    import config_doc

    assert (REPO / "config" / "README.md").read_text() == config_doc.render(), "run `make docs`"
    documented = {key: meaning for key, _, meaning in config_doc.rows((REPO / "config" / "config.yaml").read_text())}
    assert config_leaves(load_default_config()) <= set(documented)
    assert [key for key in config_leaves(load_default_config()) if not documented[key]] == []


@pytest.mark.slow  # runs Snakemake
def test_learning_rates_get_exact_job_names(tmp_path):
    copy_workflow(tmp_path)
    write_config(tmp_path / "lrs.yaml", {"q2": {"lrs": [0.1, 0.1000001, 0.0123456789], "poolings": ["max"]}})
    out = snakemake(tmp_path, "-n", "--configfile", "lrs.yaml").stdout
    names = sorted(set(re.findall(r"wildcards: pooling=max, lr=([^,]+), seed=42", out)))
    assert names == ["0.0123456789", "0.1", "0.1000001"]
    assert all(float(n) in (0.1, 0.1000001, 0.0123456789) for n in names)  # each name reads back exactly


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "tiny.yaml"])
def test_shipped_configs_pass_the_cross_key_checks(name):
    config = merged(load_default_config(), yaml.safe_load((REPO / "config" / name).read_text()))
    assert config_checks.problems(config) == []


@pytest.mark.parametrize(
    "override, keys",
    [
        ({"q3": {"hidden_dim": 200, "n_heads": 7}}, ["q3.hidden_dim", "q3.n_heads"]),
        ({"q1": {"scaling": {"lengths": [64, 128], "fit_min_length": 128}}}, ["q1.scaling.fit_min_length"]),
        ({"q1": {"scaling": {"min_repeats": 5, "max_repeats": 2}}}, ["q1.scaling.min_repeats", "max_repeats"]),
        ({"q1": {"approx": {"scale_min": 5.0, "scale_max": 1.0}}}, ["q1.approx.scale_min", "q1.approx.scale_max"]),
        ({"data": {"ljspeech": {"synthetic": {"min_chars": 60, "max_chars": 40}}}}, ["min_chars", "max_chars"]),
        ({"data": {"ljspeech": {"synthetic": {"rate": [300, 100]}}}}, ["data.ljspeech.synthetic.rate"]),
        ({"data": {"ljspeech": {"synthetic": {"n_clips": 3}}}}, ["data.ljspeech.synthetic.n_clips", "val"]),
        (
            {"data": {"ljspeech": {"source": "path", "path": "/x", "expected_rows": 3}}},
            ["data.ljspeech.expected_rows", "val"],
        ),
    ],
)
def test_cross_key_contradictions_are_named(override, keys):
    found = config_checks.problems(merged(load_default_config(), override))
    assert len(found) == 1 and "\n" not in found[0], found
    for key in keys:
        assert key in found[0], (key, found)
    with pytest.raises(config_checks.ConfigError):
        config_checks.check(merged(load_default_config(), override))


# ---- config files that do not parse: Snakemake says "not valid JSON or YAML", we say where


@pytest.mark.parametrize(
    "text, line",
    [
        (
            "q2:\n  lrs: [0.1, 0.01\n  epochs: 3\n",
            "line 3, column 9: not valid YAML: expected ',' or ']', but got ':' "
            "(while parsing a flow sequence opened on line 2)",
        ),
        (
            "q2:\n\tepochs: 3\n",
            "line 2, column 1: not valid YAML: found character '\\t' that cannot start any token "
            "(YAML indents with spaces, not tabs)",
        ),
        ("", ": empty; a config file holds keys at the top level, e.g. 'q2: {epochs: 3}'"),
        ("- q2\n", ": the top level is a list, not keys"),
    ],
)
def test_unparsable_config_file_is_named_with_its_line(tmp_path, text, line):
    (tmp_path / "my.yaml").write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "hw2repro.config_files", str(tmp_path / "my.yaml")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "workflow")},
    )
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [proc.stderr.strip()] and proc.stderr.startswith(f"{tmp_path / 'my.yaml'}")
    assert line in proc.stderr, proc.stderr


def test_shipped_config_files_parse_and_make_run_checks_the_file_first():
    assert [config_files.problem(p) for p in sorted((REPO / "config").glob("*.yaml"))] == [None] * len(
        list((REPO / "config").glob("*.yaml"))
    )
    dry = subprocess.run(["make", "-n", "run", "CONFIG=my.yaml"], cwd=REPO, capture_output=True, text=True).stdout
    lines = dry.splitlines()
    check = next(i for i, l in enumerate(lines) if "-m hw2repro.config_files my.yaml" in l)
    run = next(i for i, l in enumerate(lines) if "snakemake --cores" in l and "--configfile my.yaml" in l)
    assert check < run


# ---- every default lives in config/config.yaml: the package restates none of them

# Parameters, fields and .get() keys spelled like a config key that are not that key's default. Each
# entry says why; anything else found by the scan below fails the test.
NOT_A_CONFIG_DEFAULT = {
    ("q3/dataset.py", "SplitData.source"): "a features file's own record",
    ("q3/dataset.py", "SplitData.path"): "a features file's own record",
    ("q3/dataset.py", "load_split.get(source)"): "reads a features file's record",
    ("q3/dataset.py", "load_split.get(n_frames)"): "reads a features file's record",
    ("report/q1.py", "q1_section.get(lengths)"): "reads the settings a results file recorded",
    ("report/q1.py", "q1_section.get(dims)"): "reads the settings a results file recorded",
    ("report/q1.py", "q1_section.get(constructions)"): "reads the settings a results file recorded",
    ("report/q2.py", "q2_section.get(source)"): "reads the data manifest",
    ("report/q3.py", "q3_section.get(source)"): "reads the data manifest",
    ("plotting.py", "seeded_numpy.seed"): "a figure's jitter seed, not a config seed",
    ("q3/corpus/espeak.py", "synth.seed"): "one clip's seed, drawn by the corpus writer",
    ("q3/summary.py", "transcription_samples.seed"): "the report's sample draw",
    ("q1/attention.py", "scaled_inputs.dtype"): "float64 for the exact checks, not q1.scaling.dtype",
    ("q3/ljspeech.py", "manual_hint.url"): "the canonical archive's facts live here",
    ("q3/ljspeech.py", "manual_hint.sha256"): "the canonical archive's facts live here",
    ("q3/ljspeech.py", "download.sha256"): "the canonical archive's facts live here",
    ("q3/ljspeech.py", "download.size"): "the canonical archive's facts live here",
    ("config_values.py", "leaves.path"): "the walk's key path so far, not data.*.path",
    ("crate/contents.py", "_source.get(source)"): "reads a received root's data manifest (unknown: kept out)",
}
# Still restated, because bench/ calls these without the argument; bench moves onto
# hw2repro.defaults.load (issue 23), and then these go.
BENCH_STILL_USES = {("q3/models.py", f"ModelConfig.{k}") for k in (
    "n_frames", "hidden_dim", "n_heads", "feed_forward_dim", "encoder_layers", "lstm_layers", "n_vocab", "text_len",
    "max_timescale",
)} | {
    ("q2/octmnist.py", "load_oct_data.eq_test_dist"),
    ("q3/dataset.py", "load_split.text_len"),
    ("q3/features.py", "log_mel.sample_rate_assumed"),
    ("q3/features.py", "log_mel_batch.sample_rate_assumed"),
    ("q3/features.py", "build_split.sample_rate_assumed"),
    ("q3/features.py", "build_split.dtype"),
}  # fmt: skip


def config_key_defaults(package: Path, keys: set[str]) -> set[tuple[str, str]]:
    """(module, where) of every dataclass field, function default or ``.get(key, fallback)`` in
    ``package`` named like one of ``keys`` (None defaults mean "not given" and pass)."""

    def given(node):
        return node is not None and not (isinstance(node, ast.Constant) and node.value is None)

    found = set()
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package).as_posix()
        for scope in ast.walk(ast.parse(path.read_text())):
            if isinstance(scope, ast.ClassDef):
                for st in scope.body:
                    if isinstance(st, ast.AnnAssign) and given(st.value) and st.target.id in keys:
                        found.add((module, f"{scope.name}.{st.target.id}"))
            if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            a = scope.args
            positional = a.posonlyargs + a.args
            pairs = list(zip(positional[len(positional) - len(a.defaults) :], a.defaults))
            for arg, default in [*pairs, *zip(a.kwonlyargs, a.kw_defaults)]:
                if given(default) and arg.arg in keys:
                    found.add((module, f"{scope.name}.{arg.arg}"))
            for node in ast.walk(scope):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("get", "setdefault")
                    and len(node.args) == 2
                    and isinstance(node.args[0], ast.Constant)
                    and node.args[0].value in keys
                    and given(node.args[1])
                ):
                    found.add((module, f"{scope.name}.get({node.args[0].value})"))
    return found


def test_no_default_in_the_package_restates_a_config_key():
    keys = config_leaves(load_default_config())
    names = {k.rsplit(".", 1)[-1] for k in keys}
    found = config_key_defaults(REPO / "workflow" / "hw2repro", names)
    restated = found - set(NOT_A_CONFIG_DEFAULT) - BENCH_STILL_USES
    assert restated == set(), f"defaults that restate config/config.yaml (give every key from the config): {restated}"
    assert set(NOT_A_CONFIG_DEFAULT) | BENCH_STILL_USES <= found, "stale exemptions: remove them"
