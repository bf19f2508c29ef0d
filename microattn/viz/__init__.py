"""Pictures of what the engine and the models do: computation graphs (Graphviz),
attention and training curves (matplotlib, on Figure objects: no pyplot, no
display needed), and the run report (one self-contained HTML file).

    from microattn.viz import draw_graph, RunPictures
"""
from .attention import (plot_attention, plot_attention_gradients, plot_attention_grid,
                        plot_attention_strip, plot_matrix, save_attention_gif,
                        save_figure)
from .curves import (parameter_group, plot_curves, plot_gradient_flow, read_metrics,
                     running_mean)
from .graph import NODE_BUDGET, Graph, draw_graph, save_graph
from .notebook import demo_arguments, in_notebook, show
from .recorder import AttentionRecorder, RunPictures, capture_attention, held_out_examples

__all__ = [
    "draw_graph", "save_graph", "Graph", "NODE_BUDGET",
    "plot_attention", "plot_attention_grid", "plot_attention_gradients",
    "plot_attention_strip", "save_attention_gif", "plot_matrix", "save_figure",
    "plot_curves", "plot_gradient_flow", "read_metrics", "parameter_group", "running_mean",
    "AttentionRecorder", "RunPictures", "capture_attention", "held_out_examples",
    "show", "in_notebook", "demo_arguments",
]
