"""Imports run one way: every module's imports, read with ast, point down the layers.

    core < ops < fused < {functional, nn, optim, models, gradcheck, opcheck,
    serialization, files, threads} < compat < {data, train, viz, learn, cli}

A module may import its own layer and the layers below; only the package's
``__init__`` (which assembles the public namespace) may import any layer.
"""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "microattn"

LAYERS = [
    {"core"},
    {"ops"},
    {"fused"},
    {"functional", "nn", "optim", "models", "gradcheck", "opcheck", "checks",
     "serialization", "files", "threads"},
    {"compat", "utils"},
    {"data", "tasks", "train", "viz", "learn", "cli", "__main__", "as_torch"},
]
TOP = len(LAYERS) - 1


def layer(module):
    """The layer of a dotted module name inside the package (the package itself is
    the top: importing it runs every layer)."""
    parts = module.split(".")
    if len(parts) == 1:
        return TOP
    for i, names in enumerate(LAYERS):
        if parts[1] in names:
            return i
    raise AssertionError(f"{module}: no layer is declared for microattn.{parts[1]}")


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path):
    """(line, dotted module) for every import of the package in the file at ``path``."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("microattn")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("microattn"):
                continue
            for alias in node.names:  # ``from .. import nn`` imports the module microattn.nn
                sub = PACKAGE.parent.joinpath(*target.split("."), alias.name)
                is_module = sub.with_suffix(".py").exists() or sub.is_dir()
                found.append((node.lineno, f"{target}.{alias.name}" if is_module else target))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path):
    name = module_name(path)
    own = layer(name)
    wrong = [f"line {line}: {name} (layer {own}) imports {target} (layer {layer(target)})"
             for line, target in imported(path) if layer(target) > own]
    assert not wrong, "\n".join(wrong)


def test_the_core_never_imports_numpy_alternatives_or_compat():
    """The core reads only numpy and itself (hooks are how compat reaches it)."""
    for path in (PACKAGE / "core").glob("*.py"):
        for _, target in imported(path):
            assert target.startswith("microattn.core"), f"{path.name} imports {target}"


def test_every_package_directory_has_a_layer():
    for path in PACKAGE.iterdir():
        if path.suffix == ".py" or (path.is_dir() and (path / "__init__.py").exists()):
            if path.name != "__init__.py":
                layer(f"microattn.{path.stem}")
