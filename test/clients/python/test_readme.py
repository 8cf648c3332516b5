"""Runs the Python examples of README.md ("Using vecann from your language"):
each code block preceded by `<!-- tested: python -->` runs in a fresh database,
with the libpq environment pointing at it, and must finish without error."""
import os
import re

import pytest

from conftest import recreate_database

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "README.md")


def readme_blocks(language):
    with open(README, encoding="utf-8") as f:
        text = f.read()
    pattern = rf"<!-- tested: {language} -->\s*```\w+\n(.*?)```"
    return re.findall(pattern, text, flags=re.S)


BLOCKS = readme_blocks("python")


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example(index, monkeypatch):
    params = recreate_database(f"vecann_py_readme_{index}", extension=False)
    monkeypatch.setenv("PGDATABASE", params["dbname"])
    exec(compile(BLOCKS[index], f"README.md python example {index + 1}", "exec"), {"__name__": "readme_example"})
