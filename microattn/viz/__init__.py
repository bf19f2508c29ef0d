"""Pictures of what the engine and the models do: computation graphs (Graphviz),
attention and training curves (matplotlib), and the run report (one HTML file)."""
from .graph import NODE_BUDGET, Graph, draw_graph, save_graph

__all__ = ["draw_graph", "save_graph", "Graph", "NODE_BUDGET"]
