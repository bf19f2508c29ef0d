"""viz.show: a picture is written either way, and displayed inline only in a kernel."""
import shutil
import sys
import types

import pytest
from matplotlib.figure import Figure

import microattn as ma
from microattn.viz import draw_graph, in_notebook, show
from viz_helpers import require


@pytest.fixture
def kernel(monkeypatch):
    """A stand-in IPython with a kernel, recording what is displayed."""
    shown = []
    display = types.ModuleType("IPython.display")
    display.display = shown.append
    display.Image = lambda data: ("png", data)
    display.SVG = lambda data: ("svg", data)
    ipython = types.ModuleType("IPython")
    ipython.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    ipython.display = display
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    return shown


def figure():
    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1], [1, 0])
    return fig


def test_a_script_writes_the_file_and_shows_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert not in_notebook()
    path = show(figure(), tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert capsys.readouterr().out == f"wrote {path}\n"


def test_a_notebook_also_gets_the_png_inline(tmp_path, kernel):
    assert in_notebook()
    show(figure(), tmp_path / "a.png")
    (kind, data), = kernel
    assert kind == "png" and data == (tmp_path / "a.png").read_bytes()


def test_a_graph_is_shown_as_its_svg(tmp_path, kernel):
    require("Graphviz's dot", shutil.which("dot"))
    x = ma.tensor([1.0, 2.0], requires_grad=True)
    show(draw_graph((x * x).sum()), tmp_path / "g.svg")
    (kind, data), = kernel
    assert kind == "svg" and "<svg" in data and (tmp_path / "g.svg").exists()
