"""Pictures that show inline in a notebook and are written to a file either way.

    show(fig, "out/attention.png")     # a matplotlib Figure: PNG (or the suffix's format)
    show(graph, "out/graph.svg")       # a Graphviz Digraph (draw_graph): SVG inline

Run as a script, ``show`` writes the file and says where; run in a Jupyter kernel
(a demo opened as a notebook), it also displays the picture in the cell's output.
"""
import os
import sys

from .attention import figure_png, save_figure
from .graph import save_graph


def in_notebook():
    """True inside a Jupyter kernel (IPython with a kernel), False in a plain script."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and getattr(shell, "kernel", None) is not None


def show(picture, path, dpi=None, **options):
    """Write ``picture`` (a matplotlib Figure or a Graphviz Digraph) to ``path``
    atomically, show it inline when running in a notebook, print where it went, and
    return the path written (a graph without Graphviz's dot becomes a .dot file).
    ``options`` go to ``savefig`` (e.g. ``bbox_inches="tight"``). A pyplot figure
    is closed afterwards, so a notebook does not draw it a second time."""
    if hasattr(picture, "pipe"):
        written = save_graph(picture, path)
        inline = ("svg", lambda: picture.pipe(format="svg").decode("utf-8"))
    else:
        written = save_figure(picture, path, dpi=dpi, **options)
        inline = ("png", lambda: figure_png(picture, dpi=dpi, **options))
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close(picture)
    if in_notebook() and os.fspath(written).endswith((".png", ".svg", ".gif")):
        from IPython.display import SVG, Image, display
        kind, data = inline
        display(SVG(data()) if kind == "svg" else Image(data=data()))
    print(f"wrote {written}")
    return written
