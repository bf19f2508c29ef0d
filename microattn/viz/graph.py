"""draw_graph: the graph a backward pass walks, drawn with Graphviz, clustered by module.

Every node the engine records knows its op (``node.name()``), its output
``shape`` and ``dtype``, and the dotted ``module_path`` of the module that ran
it; leaves are ``AccumulateGrad`` nodes holding their tensor (``.variable``).
That is all a picture needs::

    loss = F.cross_entropy(model(idx).reshape(-1, V), targets.reshape(-1))
    loss.backward()
    draw_graph(loss, params=model).render("step", format="svg")

Arrows run the way the forward pass did: from inputs and parameters down to
the loss. Parameters are named (``blocks.0.self_attn.q_proj.weight``) and,
after ``backward()``, coloured by the log of their gradient's norm, so
vanishing (blue) and exploding (red) gradients stand out.

How the picture is made smaller, in the order applied:

- ``fold_repeats``: consecutive sibling modules ``blocks.0``, ``blocks.1``, ...
  of one class with the same graph inside are drawn once, labelled "x N";
  arrows into any copy go to the first, arrows out of any copy leave from it.
- ``max_depth=k``: a module whose dotted path has k parts (``blocks.0`` has 2,
  ``blocks.0.self_attn`` has 3) is drawn as one box with the arrows in and out
  of it; nothing inside it is drawn. ``collapse=("MultiheadAttention",)`` does
  the same for every module of the named classes.
- The node budget: above ``NODE_BUDGET`` nodes the depth is lowered until the
  graph fits, and the picture (and a warning) says so, so layout never hangs.
"""
import os
import re
import sys
import warnings
from collections import defaultdict

import graphviz
import numpy as np

from ..core import Tensor
from ..files import write_atomic
from .graph_walk import copy_index, fold_name, plan_graph

NODE_BUDGET = 1500
INSTALL_HINT = ("install Graphviz to render it: apt-get install graphviz (Debian/Ubuntu), "
                "brew install graphviz (macOS), conda install graphviz, or see "
                "https://graphviz.org/download")

# Fill colours. Gradient norms use a blue-white-red ramp (matplotlib's coolwarm ends).
_OP_FILL = "#f2f2f2"
_PARAM_FILL = "#cfe2f3"
_INPUT_FILL = "#d9ead3"
_BOX_FILL = "#fff2cc"
_ROOT_FILL = "#f4cccc"
_RAMP = ((0.0, (59, 76, 192)), (0.5, (221, 221, 221)), (1.0, (180, 4, 38)))
_LIST_CLASSES = ("ModuleList",)
_DECADES = 6


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` that still gives something useful without Graphviz's
    ``dot``: ``render`` writes the ``.dot`` source and prints one line on how to
    install Graphviz instead of raising.

    ``node_count`` is the number of nodes drawn, ``full_count`` the number the
    graph had before folding and collapsing, ``notes`` what was done to fit.
    """

    node_count = 0
    full_count = 0
    notes = ()

    def render(self, filename=None, directory=None, view=False, cleanup=False, format=None,
               **kwargs):
        """As ``graphviz.Digraph.render``; when ``dot`` is missing, returns the path of
        the ``.dot`` file written instead of the picture."""
        try:
            return super().render(filename, directory=directory, view=view, cleanup=cleanup,
                                  format=format, **kwargs)
        except graphviz.ExecutableNotFound:
            target = kwargs.get("outfile") or filename or self.filename or "graph"
            path = os.path.splitext(os.path.join(directory or "", os.fspath(target)))[0] + ".dot"
            write_atomic(path, self.source)
            print(f"microattn: Graphviz's dot program was not found, so wrote {path}; "
                  f"{INSTALL_HINT}", file=sys.stderr)
            return path

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        try:
            return super()._repr_mimebundle_(include, exclude, **kwargs)
        except graphviz.ExecutableNotFound:
            return {"text/plain": f"Graphviz's dot program was not found; {INSTALL_HINT}"}


def save_graph(graph, path):
    """Render ``graph`` to ``path`` (its suffix picks svg, png or pdf) atomically.
    Returns the path written: ``path`` itself, or a ``.dot`` file when ``dot`` is missing."""
    path = os.fspath(path)
    stem, ext = os.path.splitext(path)
    fmt = ext.lstrip(".") or "svg"
    try:
        data = graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        dot_path = stem + ".dot"
        write_atomic(dot_path, graph.source)
        print(f"microattn: Graphviz's dot program was not found, so wrote {dot_path}; "
              f"{INSTALL_HINT}", file=sys.stderr)
        return dot_path
    return write_atomic(path, data)


# -- drawing -------------------------------------------------------------------

def _grad_norm(tensor):
    if tensor is None or tensor.grad is None:
        return None
    return float(np.linalg.norm(np.asarray(tensor.grad, dtype=np.float64)))


def _short(x):
    return f"{x:.4g}"


def _stats(tensor):
    data = np.asarray(tensor._data, dtype=np.float64)
    if data.size == 0:
        return "empty"
    return f"min {_short(data.min())} mean {_short(data.mean())} max {_short(data.max())}"


def _shape_text(shape):
    return "(" + ", ".join(str(s) for s in shape) + ")"


def _text(label):
    """A label as plain text: without this, a module path such as ``<x>`` would be
    read by Graphviz as an HTML label (and break ``dot``)."""
    return graphviz.nohtml(label)


def _ramp(t):
    """Colour at ``t`` in [0, 1] on the blue-grey-red ramp, as '#rrggbb'."""
    t = min(max(t, 0.0), 1.0)
    for (t0, c0), (t1, c1) in zip(_RAMP, _RAMP[1:]):
        if t <= t1:
            f = (t - t0) / (t1 - t0)
            return "#" + "".join(f"{round(a + (b - a) * f):02x}" for a, b in zip(c0, c1))
    return "#%02x%02x%02x" % _RAMP[-1][1]


def _dark(colour):
    """True when black text would be hard to read on ``colour`` ('#rrggbb')."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140


class _GradColours:
    """Fill colours for the drawn tensors by the log of their gradient norm: the scale
    runs over the drawn range, six decades at most (smaller is "vanishing", full blue)."""

    def __init__(self, plan, show_grads):
        self.norms = {}
        for info in plan.visible if show_grads else ():
            if info.tensor is not None and info.kind != "op" or info.name is not None:
                group = [info] + plan.copies.get(id(info.node), [])[1:]
                values = [_grad_norm(m.tensor) for m in group if m.tensor is not None]
                values = [v for v in values if v is not None]
                if values:
                    self.norms[id(info.node)] = (min(values), max(values))
        positive = [v for lo, hi in self.norms.values() for v in (lo, hi) if v > 0]
        self.any = bool(positive)
        self.lo_log, self.hi_log = ((np.log10(min(positive)), np.log10(max(positive)))
                                    if positive else (0.0, 0.0))
        self.lo_log = max(self.lo_log, self.hi_log - _DECADES)

    def fill(self, key):
        lo, hi = self.norms[key]
        if hi == 0:
            return "#999999"
        if self.hi_log - self.lo_log < 1e-9:
            return _ramp(0.5)
        value = np.log10(np.sqrt(max(lo, 1e-300) * hi))  # geometric middle of the copies
        return _ramp((value - self.lo_log) / (self.hi_log - self.lo_log))

    def text(self, key):
        lo, hi = self.norms[key]
        return f"|grad| {lo:.2e}" if lo == hi else f"|grad| {lo:.1e}..{hi:.1e}"

    def legend(self):
        return (f"fill: log10 |grad| from {10 ** self.lo_log:.1e} or less (blue) to "
                f"{10 ** self.hi_log:.1e} (red)")


def _node_label(info, plan, colours, show_shapes, show_grads, show_values):
    """A node's label: its op (or parameter name), shape and dtype, and its values or
    gradient norm where asked."""
    name = info.name
    if name is not None and info.path in plan.first_copy:
        name = fold_name(name, plan.folded[plan.first_copy[info.path]][1])
    if info.kind == "op":
        op = info.op[:-len("Backward")] if info.op.endswith("Backward") else info.op
        lines = [op if name is None else f"{name} = {op}"]
    else:
        lines = [name if name is not None else "input"]
    if show_shapes and not plan.scalar:
        text = _shape_text(info.shape)
        if info.dtype is not None and (info.kind != "op" or str(info.dtype) != "float32"):
            text += f" {info.dtype}"
        lines.append(text)
    if info.tensor is not None and plan.scalar:
        lines.append(f"data {_short(float(info.tensor.detach().numpy().reshape(-1)[0]))}")
        grad = info.tensor.grad
        if grad is not None and show_grads:
            lines.append(f"grad {_short(float(np.asarray(grad).reshape(-1)[0]))}")
    elif info.tensor is not None:
        if show_values:
            lines.append(_stats(info.tensor))
        if id(info.node) in colours.norms:
            lines.append(colours.text(id(info.node)))
    return _text("\n".join(lines))


def _node_attrs(info, plan, colours, label):
    attrs = {"label": label}
    if info.kind == "op":
        attrs.update(fillcolor=_OP_FILL, style="rounded,filled")
    else:
        attrs["fillcolor"] = _PARAM_FILL if info.kind == "param" else _INPUT_FILL
    if id(info.node) in colours.norms and not plan.scalar:  # scalars show grads as numbers
        attrs["fillcolor"] = colours.fill(id(info.node))
        if _dark(attrs["fillcolor"]):
            attrs["fontcolor"] = "white"
    if info.node is plan.root:
        attrs.update(fillcolor=_ROOT_FILL, penwidth="2")
    return attrs


def _box_attrs(path, plan, counts):
    """A collapsed module: its path, class, copies and how many ops and tensors it holds."""
    cls = plan.classes.get(path)
    head = (path if path not in plan.first_copy
            else fold_name(path, plan.folded[plan.first_copy[path]][1]))
    label = f"{head}\n{cls}" if cls else head
    if path in plan.folded:
        label += f" x {len(plan.folded[path][1])}"
    label += f"\n{counts[0]} ops, {counts[1]} tensors"
    return {"label": _text(label), "shape": "box3d", "fillcolor": _BOX_FILL}


def _place_units(plan, node_attrs):
    """Each drawn unit (a node or a collapsed module's box) with its Graphviz id and
    attributes, grouped by the module path whose cluster holds it. Returns
    ({path: [(uid, attrs)]}, {unit: uid})."""
    members = defaultdict(list)
    unit_ids = {}
    box_counts = defaultdict(lambda: [0, 0])
    for info in plan.visible:
        unit = plan.rep[id(info.node)]
        if plan.kept is not None and unit not in plan.kept:
            continue
        if unit[0] == "box":
            box_counts[unit[1]][0 if info.kind == "op" else 1] += 1
            if unit not in unit_ids:
                unit_ids[unit] = f"b{len(unit_ids)}"
                members[unit[1].rpartition(".")[0]].append((unit_ids[unit], unit[1]))
            continue
        unit_ids[unit] = f"n{info.index}"
        members[info.path].append((unit_ids[unit], node_attrs(info)))
    for path, entries in members.items():  # boxes get their attributes once counted
        members[path] = [(uid, _box_attrs(a, plan, box_counts[a]) if isinstance(a, str) else a)
                         for uid, a in entries]
    return members, unit_ids


def _cluster_label(path, plan):
    cls = plan.classes.get(path)
    if path in plan.folded:
        group = plan.folded[path][1]
        return _text(f"{fold_name(path, group)}: {cls or 'module'} x {len(group)}")
    if path in plan.first_copy:
        path = fold_name(path, plan.folded[plan.first_copy[path]][1])
    return _text(f"{path}: {cls}" if cls else path)


def _cluster_tree(members):
    """path -> child paths, and the names of list containers (their children are
    numbered), from the paths that hold units."""
    children = defaultdict(set)
    list_containers = set()
    for path in list(members):
        parts = path.split(".") if path else []
        for i in range(len(parts), 0, -1):
            children[".".join(parts[:i - 1])].add(".".join(parts[:i]))
            if parts[i - 1].isdigit() and i > 1:
                list_containers.add(parts[i - 2])
    return children, list_containers


def _emit(target, path, members, tree, plan, group_modules):
    """Draw the units of ``path`` into ``target`` and each child module as a nested
    cluster (a ModuleList runs nothing itself: its children go straight in)."""
    children, list_containers = tree
    classes = plan.classes
    for uid, attrs in members.get(path, ()):
        target.node(uid, **attrs)
    for child in sorted(children[path]):
        if not group_modules or classes.get(child) in _LIST_CLASSES or (
                classes and child not in classes) or (
                not classes and child.rpartition(".")[2] in list_containers):
            _emit(target, child, members, tree, plan, group_modules)
            continue
        with target.subgraph(name="cluster_" + re.sub(r"\W", "_", child) or "root") as sub:
            style = {"style": "rounded,filled", "color": "#999999",
                     "fillcolor": "#ffffff" if child.count(".") % 2 else "#f7f9fc"}
            if child in plan.folded:
                style.update(penwidth="2.5", color="#3c78d8")
            sub.attr(label=_cluster_label(child, plan), fontsize="10", labeljust="l", **style)
            _emit(sub, child, members, tree, plan, group_modules)


def _unit_edges(plan, unit_ids):
    """The arrows between drawn units (inside one unit, or from one copy of a folded
    block into the next, none)."""
    drawn = set()
    nodes, copy_of, folded = plan.nodes, plan.copy_of, plan.folded
    for a, b in plan.edges:
        if a not in nodes or b not in nodes:
            continue
        if a in copy_of and b in copy_of and copy_of[a] == copy_of[b] and \
                copy_index(nodes[a], folded, copy_of) != copy_index(nodes[b], folded, copy_of):
            continue
        ua = plan.rep.get(plan.canon.get(a, a))
        ub = plan.rep.get(plan.canon.get(b, b))
        if ua is None or ub is None or ua == ub or ua not in unit_ids or ub not in unit_ids:
            continue
        drawn.add((unit_ids[ua], unit_ids[ub]))
    return sorted(drawn)


def _check_arguments(root, max_depth, collapse, direction):
    """(root tensor or None, root node, collapse as a tuple), or a clear error."""
    if isinstance(root, Tensor):
        if root.grad_fn is None:
            raise ValueError("draw_graph: the tensor has no grad_fn (it is a leaf, or was "
                             "computed under no_grad or from inputs without requires_grad)")
        root_tensor, root_node = root, root.grad_fn
    else:
        root_tensor, root_node = None, root
        if not hasattr(root, "next_functions"):
            raise TypeError(f"draw_graph: root should be a Tensor or a graph node, "
                            f"not {type(root).__name__}")
    if max_depth is not None and max_depth < 1:
        raise ValueError(f"draw_graph: max_depth should be >= 1 (the depth of a module is "
                         f"the number of parts of its dotted path), got {max_depth}")
    if direction not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"draw_graph: direction should be 'TB', 'LR', 'BT' or 'RL', "
                         f"got {direction!r}")
    return root_tensor, root_node, ((collapse,) if isinstance(collapse, str) else tuple(collapse))


def draw_graph(root, params=None, show_shapes=True, show_grads=True, show_values=False,
               group_modules=True, max_depth=None, collapse=(), fold_repeats=True,
               direction="TB"):
    """Draw the graph that ``root.backward()`` walks (or walked) as a ``graphviz.Digraph``.

    root: a tensor with a ``grad_fn`` (a loss, an attention output...) or a graph node.
    params: a Module (names its parameters and gives each module's class for the
    cluster labels) or a dict of name -> tensor; a dict may name intermediate
    tensors too, whose values (and, with ``retain_grad()``, grads) are then shown.
    show_shapes / show_grads / show_values: shape and dtype; gradient norms (log
    colour); min / mean / max of named tensors. Graphs whose every tensor is a
    scalar (the micrograd case) show the values and gradients themselves.
    group_modules: nested clusters by the module path each node recorded.
    max_depth, collapse, fold_repeats: see the module docstring.
    direction: Graphviz rankdir, "TB" (inputs at the top) or "LR".
    """
    root_tensor, root_node, collapse = _check_arguments(root, max_depth, collapse, direction)
    plan = plan_graph(root_node, root_tensor, params, max_depth, collapse, fold_repeats,
                      NODE_BUDGET)
    for note in plan.notes:
        warnings.warn(f"draw_graph: {note}", stacklevel=2)
    graph = Graph(graph_attr={"rankdir": direction, "fontname": "Helvetica", "fontsize": "11",
                              "labelloc": "b", "newrank": "true", "ranksep": "0.3",
                              "nodesep": "0.2"},
                  node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled",
                             "shape": "box", "height": "0.3", "margin": "0.06,0.03"},
                  edge_attr={"arrowsize": "0.6", "color": "#555555"})
    graph.full_count = len(plan.order)
    graph.notes = tuple(plan.notes)
    colours = _GradColours(plan, show_grads)
    members, unit_ids = _place_units(plan, lambda info: _node_attrs(
        info, plan, colours, _node_label(info, plan, colours, show_shapes, show_grads,
                                         show_values)))
    _emit(graph, "", members, _cluster_tree(members), plan, group_modules)
    for a, b in _unit_edges(plan, unit_ids):
        graph.edge(a, b)
    legend = ([colours.legend()] if colours.any and not plan.scalar else []) + plan.notes
    if legend:
        graph.attr(label=_text("\n".join(legend)))
    graph.node_count = len(unit_ids)
    return graph
