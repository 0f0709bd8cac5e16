"""One version: hw2repro.__version__, which pyproject.toml reads and CHANGELOG.md heads."""

from __future__ import annotations

import re

from setuptools.config.pyprojecttoml import read_configuration

import hw2repro
from conftest import REPO


def test_pyproject_version_is_the_package_version():
    project = read_configuration(REPO / "pyproject.toml", expand=True)["project"]
    assert project["version"] == hw2repro.__version__


def test_changelog_heads_with_the_package_version():
    first = re.search(r"^## (\S+)", (REPO / "CHANGELOG.md").read_text(), re.M).group(1)
    assert hw2repro.__version__.startswith(first)  # 0.2.0 (unreleased) while the package says 0.2.0.dev0
