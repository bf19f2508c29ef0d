"""docs/derivatives.md derives every Function of the package: the Function subclasses
are found by walking the package (so an op added anywhere is found), and each needs a
section named after its class: a heading naming it, a table row or a paragraph
beginning with it in backticks."""
import importlib
import pkgutil
import re
from pathlib import Path

import microattn
from microattn.core import Function

DOC = Path(__file__).resolve().parents[2] / "docs" / "derivatives.md"


def function_classes():
    """Every public Function subclass defined in microattn (helpers named _X excluded)."""
    for module in pkgutil.walk_packages(microattn.__path__, "microattn."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, stack = set(), [Function]
    while stack:
        for sub in stack.pop().__subclasses__():
            stack.append(sub)
            if sub.__module__.startswith("microattn.") and not sub.__name__.startswith("_"):
                found.add(sub)
    return sorted(found, key=lambda c: c.__name__)


def has_section(text, name):
    word = re.escape(name)
    headings = [h.replace("-", "") for h in re.findall(r"^#+ (.*)$", text, flags=re.M)]
    return (any(re.search(rf"\b{word}\b", h, flags=re.I) for h in headings)
            or re.search(rf"^\| `{word}[`(]", text, flags=re.M) is not None
            or re.search(rf"^(\*\*)?`{word}[`(]", text, flags=re.M) is not None)


def test_the_walk_finds_the_ops_of_every_layer():
    names = {c.__name__ for c in function_classes()}
    assert {"Add", "Matmul", "Softmax", "Linear", "ScaledDotProductAttention"} <= names


def test_every_function_has_its_section():
    text = DOC.read_text(encoding="utf-8")
    missing = [f"{c.__module__}.{c.__name__}" for c in function_classes()
               if not has_section(text, c.__name__)]
    assert not missing, "docs/derivatives.md has no section for " + ", ".join(missing)


def test_a_section_is_recognised_only_by_its_class_name():
    text = "### Softmax\n| `Flip` | ... |\n**`Linear`** (`fused.py`): ...\n`Gather`: ...\n"
    assert all(has_section(text, n) for n in ("Softmax", "Flip", "Linear", "Gather"))
    assert not any(has_section(text, n) for n in ("Soft", "Lin", "Scatter"))
