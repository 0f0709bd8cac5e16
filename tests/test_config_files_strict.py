"""Config files read strictly: a key given twice is an error naming file, line and key, in
`make check-config` and when the workflow loads its files; config/references.yaml has a schema."""

import pytest

from conftest import REPO
from hw2repro import config_files

TWICE = "q2:\n  epochs: 3\nq3:\n  epochs: 1\nq2:\n  lrs: [0.1]\n"


def test_a_key_given_twice_is_named_with_file_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(TWICE)
    line = config_files.problem(path)
    assert line == (
        f"{path} line 5, column 1: key 'q2' given twice (first on line 1); YAML would keep only the last: "
        "merge the two blocks"
    )
    assert config_files.main([str(path)]) == 1
    nested = tmp_path / "n.yaml"
    nested.write_text("q2:\n  epochs: 3\n  epochs: 4\n")
    assert "line 3, column 3: key 'epochs' given twice (first on line 2)" in config_files.problem(nested)


def test_shipped_files_have_no_key_twice():
    for name in ("config.yaml", "tiny.yaml", "paper.yaml", "references.yaml"):
        assert config_files.problem(REPO / "config" / name) is None, name
    config_files.check_references(REPO / "config" / "references.yaml")


def test_a_non_number_in_references_is_named_with_file_and_key(tmp_path):
    path = tmp_path / "references.yaml"
    path.write_text(
        (REPO / "config" / "references.yaml").read_text().replace("test_acc: 0.8488", "test_acc: 0.84x8", 1)
    )
    with pytest.raises(config_files.ConfigFileError) as err:
        config_files.check_references(path)
    assert str(err.value) == f"{path}: q2[0].test_acc: '0.84x8' is not of type 'number', 'null'"


def test_a_python_object_tag_is_refused_and_runs_nothing(tmp_path):
    """The strict loader is a SafeLoader: a config file cannot construct Python objects or call code."""
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.yaml"
    path.write_text(f"q2: !!python/object/apply:os.mkdir ['{marker}']\n")
    line = config_files.problem(path)
    assert line.startswith(f"{path} line 1, column 5: not valid YAML: could not determine a constructor"), line
    assert not marker.exists()
