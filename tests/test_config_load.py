"""The door every config passes (hw2repro.config_load.resolve, which rules/common.smk calls before any
job): each refusal is one line naming the file or key. Checked here without Snakemake; that Snakemake
refuses what ``resolve`` refuses, before any job, is checked once per way a setting arrives
(a --configfile file, a --config value)."""

import math
import subprocess
import sys

import pytest
import yaml

from conftest import REPO, copy_workflow, snakemake
from hw2repro import config_load

DEFAULT = REPO / "config" / "config.yaml"
REFERENCES = REPO / "config" / "references.yaml"
TWICE = "q2:\n  epochs: 3\nq3:\n  epochs: 1\nq2:\n  lrs: [0.1]\n"


def refusal(given: dict, files=(), references=REFERENCES) -> str:
    with pytest.raises(config_load.ConfigRefused) as err:
        config_load.resolve(given, [DEFAULT, *files], references)
    return str(err.value)


@pytest.mark.parametrize("name", ["tiny.yaml", "paper.yaml"])
def test_the_shipped_configs_pass_and_arrive_merged_over_the_defaults(name):
    path = REPO / "config" / name
    given = yaml.safe_load(path.read_text())
    config = config_load.resolve(given, [DEFAULT, path], REFERENCES)
    assert config["q2"]["lrs"] == given["q2"]["lrs"] and "q1" in config  # a key the file does not give


@pytest.mark.parametrize(
    "bad, line",
    [
        # the schema, said in one line (not Snakemake's dump of the whole schema)
        ({"q2": {"lrs": [0.1, -1.0]}}, "invalid config: q2.lrs[1]: -1.0 is less than or equal to the minimum of 0"),
        ({"q2": {"lrz": [0.1]}}, "invalid config: q2: Additional properties are not allowed ('lrz' was unexpected)"),
        ({"q2": {"poolings": []}}, "invalid config: q2.poolings: [] should be non-empty"),
        ({"q3": {"decoders": ["gru"]}}, "invalid config: q3.decoders[0]: 'gru' is not one of ['lstm', 'transformer']"),
        # --config q3={epochs: 3} gives the string '3' (why the docs say --configfile for nested keys)
        ({"q3": {"epochs": "3"}}, "invalid config: q3.epochs: '3' is not of type 'integer'"),
        # values wrong on their own (hw2repro.config_values)
        ({"q2": {"lrs": [math.nan]}}, "invalid config: q2.lrs[0]: nan is not a finite number"),
        (
            {"results": "/"},
            "invalid config: results: '/' is the file system's root; outputs would be written beside everything "
            "there: name a folder of its own, e.g. results",
        ),
        # across keys (hw2repro.config_checks): before any job, not after the corpus and features
        (
            {"q3": {"n_heads": 3}},
            "invalid config: q3.hidden_dim (200) must be divisible by q3.n_heads (3): "
            "attention splits the width into equal heads",
        ),
        (
            {"q1": {"scaling": {"fit_min_length": 100000}}},
            "invalid config: q1.scaling.fit_min_length (100000) leaves 0 of q1.scaling.lengths "
            "[64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384] to fit a slope on (needs 2): "
            "lower it or add longer lengths",
        ),
    ],
)
def test_a_bad_value_is_refused_in_one_line_naming_the_key(bad, line):
    assert refusal(bad) == line


def test_the_files_are_read_strictly_naming_file_and_line(tmp_path):
    twice = tmp_path / "twice.yaml"
    twice.write_text(TWICE)
    assert refusal({}, [twice]) == (
        f"{twice} line 5, column 1: key 'q2' given twice (first on line 1); YAML would keep only the last: "
        "merge the two blocks"
    )
    tabbed = tmp_path / "config.yaml"
    tabbed.write_text(DEFAULT.read_text().replace("\n", "\n\t", 1))  # a tab at the start of line 2
    with pytest.raises(config_load.ConfigRefused) as err:
        config_load.resolve({}, [tabbed], REFERENCES)
    assert str(err.value).startswith(f"{tabbed} line 2, column 1: not valid YAML: found character '\\t'")
    references = tmp_path / "references.yaml"
    references.write_text(REFERENCES.read_text().replace("test_acc: 0.8488", "test_acc: x", 1))
    assert refusal({}, references=references) == f"{references}: q2[0].test_acc: 'x' is not of type 'number', 'null'"


# ---- through Snakemake: refused before any job, the same line


TAB = ("config/config.yaml", "\n", "\n\t")  # a tab at the start of line 2 of the workflow's config.yaml
NOT_A_NUMBER = ("config/references.yaml", "test_acc: 0.8488", "test_acc: x")


@pytest.mark.slow  # runs Snakemake
@pytest.mark.parametrize(
    "edit, args, line",
    [
        # a --configfile file is read strictly (a key given twice), before the merge
        (None, ("--configfile", "twice.yaml"), "twice.yaml line 5, column 1: key 'q2' given twice (first on line 1)"),
        # a --config value reaches the schema
        (None, ("--config", "q3={epochs: 3}"), "invalid config: q3.epochs: '3' is not of type 'integer'"),
        # the workflow's own files, each read strictly and named as the user sees them
        (TAB, (), "config/config.yaml line 2, column 1: not valid YAML: found character '\\t'"),
        (NOT_A_NUMBER, (), "config/references.yaml: q2[0].test_acc: 'x' is not of type"),
    ],
)
def test_snakemake_refuses_what_resolve_refuses_before_any_job(tmp_path, edit, args, line):
    copy_workflow(tmp_path)
    (tmp_path / "twice.yaml").write_text(TWICE)
    if edit:
        name, old, new = edit
        (tmp_path / name).write_text((tmp_path / name).read_text().replace(old, new, 1))
    # a real run of one cheap target: were the config let through, its job would run (results/ appears)
    proc = snakemake(tmp_path, "--cores", "1", *args, "--", "results/q1/verification.csv", check=False)
    output = proc.stderr + proc.stdout
    assert proc.returncode != 0
    assert any(x.startswith(line) for x in output.splitlines()), output
    assert "Failed validating" not in output and "Traceback" not in output
    assert not (tmp_path / "results").exists()  # nothing ran


# ---- the canonical data facts, the schema switch, and what a parse imports


def test_null_data_facts_are_the_canonical_files_and_a_users_are_kept():
    from hw2repro import defaults
    from hw2repro.q2 import octmnist
    from hw2repro.q3 import ljspeech

    raw = yaml.safe_load(DEFAULT.read_text())["data"]
    assert all(raw[s][k] is None for s, k in [("octmnist", "url"), ("octmnist", "md5"), ("ljspeech", "sha256")])
    data = defaults.load()["data"]
    assert (data["octmnist"]["url"], data["octmnist"]["md5"], data["octmnist"]["size"]) == (
        octmnist.URL,
        octmnist.MD5,
        octmnist.SIZE,
    )
    assert (data["ljspeech"]["url"], data["ljspeech"]["sha256"], data["ljspeech"]["size"]) == (
        ljspeech.URL,
        ljspeech.SHA256,
        ljspeech.SIZE,
    )
    # a mirror keeps the canonical checksum and size; other content keeps its own checksum, and its
    # size stays unchecked unless given (never the canonical file's)
    url = "https://mirror/octmnist.npz"
    mirror = defaults.load({"data": {"octmnist": {"url": url}}})["data"]["octmnist"]
    assert (mirror["url"], mirror["md5"], mirror["size"]) == (url, octmnist.MD5, octmnist.SIZE)
    other = defaults.load({"data": {"ljspeech": {"sha256": "a" * 64}}})["data"]["ljspeech"]
    assert (other["url"], other["sha256"], other["size"]) == (ljspeech.URL, "a" * 64, None)


def test_without_the_schema_only_the_cross_key_checks_refuse():
    """A host workflow's skip_validation (common.smk passes schema=False): the schema is skipped, the
    checks the workflow cannot run without are not."""
    given = {"q2": {"lrz": [0.1]}}
    assert config_load.resolve(given, [DEFAULT], REFERENCES, schema=False)["q2"]["lrz"] == [0.1]
    with pytest.raises(config_load.ConfigRefused, match="q3.n_heads"):
        config_load.resolve({"q3": {"n_heads": 3}}, [DEFAULT], REFERENCES, schema=False)


def test_planning_the_workflow_imports_no_torch():
    """What common.smk imports to plan (and what resolve reads) leaves torch out: 2 s of every
    snakemake call, dry runs included."""
    probe = (
        "import sys; sys.path.insert(0, 'workflow');"
        "from hw2repro import code_identity, config_load, labels, result_keys, targets, resources;"
        "from hw2repro.report.captions import rule_caption, rule_title;"
        "config_load.resolve({}, ['config/config.yaml'], 'config/references.yaml');"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr
