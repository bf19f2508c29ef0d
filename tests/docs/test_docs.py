"""The docs' examples run against the code as it is: ```python blocks are executed and
```pycon blocks checked as doctests, in order, sharing one namespace per file."""
import doctest
import re
import textwrap
from pathlib import Path

import pytest

import microattn as ma

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([*ROOT.glob("docs/*.md"), ROOT / "README.md"])
BLOCK = re.compile(r"```(pycon|python)\n(.*?)```", flags=re.S)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_examples_run_as_shown(path):
    text = path.read_text()
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    namespace = {"__name__": "__doc__"}
    default_dtype = ma.get_default_dtype()
    try:
        for number, (kind, block) in enumerate(BLOCK.findall(text), start=1):
            name = f"{path.name}, example {number}"
            block = textwrap.dedent(block)
            if kind == "python":
                exec(compile(block, name, "exec"), namespace)
            else:
                test = parser.get_doctest(block, namespace, name, str(path), 0)
                runner.run(test, clear_globs=False)
                namespace = test.globs
    finally:
        ma.set_default_dtype(default_dtype)  # an example may change it
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {path.name} failed"


def test_every_doc_has_examples():
    for path in DOCS:
        assert BLOCK.search(path.read_text()), f"{path.name} has no runnable example"

