"""Pictures that show inline in a notebook and are written to a file either way.

    show(fig, "out/attention.png")     # a matplotlib Figure: PNG (or the suffix's format)
    show(graph, "out/graph.svg")       # a Graphviz Digraph (draw_graph): SVG inline

Run as a script, ``show`` writes the file and says where; run in a Jupyter kernel
(a demo opened as a notebook), it also displays the picture in the cell's output.
"""
import argparse
import os
import shlex
import sys
from pathlib import Path

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
    ``options`` go to ``savefig`` (``bbox_inches="tight"`` unless given). A pyplot
    figure is closed afterwards, so a notebook does not draw it a second time."""
    options.setdefault("bbox_inches", "tight")
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


def demo_arguments(name, doc, default_steps, fast_steps):
    """A demo's command line -> (args, out): the parsed arguments and the picture folder.

    ``args.steps`` is ``fast_steps`` with ``--fast`` (the same code path, fewer
    steps: what CI runs), else ``default_steps``, unless ``--steps`` says; ``out``
    is ``--out``, by default demos/out/<name>/ from the repository (out/<name>/ when
    run from inside demos/, as a notebook is). Unknown arguments are ignored, so a
    notebook kernel's own arguments do no harm; there the environment variable
    MICROATTN_DEMO_ARGS gives the arguments (e.g. "--fast").
    """
    title = (doc or name).strip().splitlines()[0]
    parser = argparse.ArgumentParser(description=title)
    parser.add_argument("--fast", action="store_true",
                        help=f"fewer steps ({fast_steps} instead of {default_steps}), same code")
    parser.add_argument("--steps", type=int, default=None, help="training steps")
    parser.add_argument("--out", type=Path, default=None,
                        help="folder for the pictures (default: demos/out/<demo>/)")
    args, _ = parser.parse_known_args(shlex.split(os.environ.get("MICROATTN_DEMO_ARGS", ""))
                                      + sys.argv[1:])
    if args.steps is None:
        args.steps = fast_steps if args.fast else default_steps
    if args.out is None:
        args.out = (Path("demos") if Path("demos").is_dir() else Path()) / "out" / name
    args.out.mkdir(parents=True, exist_ok=True)
    print(title)
    print(f"pictures go to {args.out}")
    return args, args.out
