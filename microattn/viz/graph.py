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


# -- reading the graph ----------------------------------------------------------

class _Node:
    """What the picture needs to know about one engine node."""

    __slots__ = ("node", "op", "shape", "dtype", "path", "kind", "name", "tensor", "index")

    def __init__(self, node, index):
        self.node = node
        self.index = index
        self.op = node.name()
        self.shape = tuple(getattr(node, "shape", ()) or ())
        self.dtype = getattr(node, "dtype", None)
        self.path = getattr(node, "module_path", "") or ""
        self.kind = "op"
        self.name = None
        self.tensor = None


def _walk(root):
    """Every node reachable from ``root`` (nearest first) and the edges, forward-pointing
    (input -> consumer), without recursion."""
    nodes = {}
    order = []
    edges = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in nodes:
            continue
        info = _Node(node, len(order))
        nodes[id(node)] = info
        order.append(info)
        for parent, _ in node.next_functions:
            if parent is None:
                continue
            edges.add((id(parent), id(node)))
            if id(parent) not in nodes:
                stack.append(parent)
    return order, nodes, edges


def _names_and_classes(params):
    """``params`` (a Module, a dict of name -> tensor, or None) -> (names by tensor id,
    module class names by dotted path)."""
    if params is None:
        return {}, {}
    if hasattr(params, "named_parameters") and hasattr(params, "named_modules"):
        names = {id(p): n for n, p in params.named_parameters()}
        classes = {n: type(m).__name__ for n, m in params.named_modules()}
        return names, classes
    if isinstance(params, dict):
        return {id(t): n for n, t in params.items() if isinstance(t, Tensor)}, {}
    raise TypeError(f"draw_graph: params should be a Module or a dict of name -> tensor, "
                    f"not {type(params).__name__}")


def _path_prefix(order, classes):
    """A submodule run inside its model records full paths (``blocks.0.self_attn``) while
    its own names are relative (``self_attn``): the prefix that joins them, or ""."""
    for info in order:
        if info.op == "AccumulateGrad" or not info.path or info.path in classes:
            continue
        parts = info.path.split(".")
        for i in range(1, len(parts) + 1):
            if ".".join(parts[i:]) in classes:
                return ".".join(parts[:i])
    return ""


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


# -- folding and collapsing -----------------------------------------------------

def _parts(path):
    return path.split(".") if path else []


def _inside(path, prefix):
    return path == prefix or path.startswith(prefix + ".")


def _module_paths(order):
    """Every module path any node lies in, with all its prefixes."""
    paths = set()
    for info in order:
        parts = _parts(info.path)
        for i in range(1, len(parts) + 1):
            paths.add(".".join(parts[:i]))
    return paths


def _repeat_groups(paths, classes):
    """Runs of consecutive siblings ``prefix.i, prefix.i+1, ...`` of one class, shallow
    first: the candidates for folding."""
    siblings = defaultdict(list)
    for path in paths:
        parent, _, last = path.rpartition(".")
        if last.isdigit():
            siblings[parent].append(int(last))
    groups = []
    for parent in sorted(siblings, key=lambda p: (len(_parts(p)), p)):
        run = []
        for i in sorted(siblings[parent]):
            path = f"{parent}.{i}" if parent else str(i)
            if run and (i != run[-1][0] + 1 or classes.get(path) != classes.get(run[-1][1])):
                groups.append([p for _, p in run])
                run = []
            run.append((i, path))
        groups.append([p for _, p in run])
    return [g for g in groups if len(g) > 1]


def _canonical(members, prefix, edges):
    """The nodes of one module copy in an order that does not depend on which copy it
    is: by path relative to the copy, op, shape and longest distance from the copy's
    inputs. Returns (ordered nodes, signature)."""
    ids = {id(m.node) for m in members}
    inside = [(a, b) for a, b in edges if a in ids and b in ids]
    indegree = {i: 0 for i in ids}
    children = defaultdict(list)
    for a, b in inside:
        indegree[b] += 1
        children[a].append(b)
    rank = {i: 0 for i in ids}
    ready = [i for i in ids if indegree[i] == 0]
    while ready:
        i = ready.pop()
        for c in children[i]:
            rank[c] = max(rank[c], rank[i] + 1)
            indegree[c] -= 1
            if indegree[c] == 0:
                ready.append(c)
    cut = len(prefix)

    def key(m):
        return (m.path[cut:], m.op, m.shape, str(m.dtype), rank[id(m.node)],
                (m.name or "")[cut:])

    ordered = sorted(members, key=key)
    position = {id(m.node): i for i, m in enumerate(ordered)}
    structure = sorted((position[a], position[b]) for a, b in inside)
    return ordered, (tuple(key(m) for m in ordered), tuple(structure))


def _fold(order, edges, classes):
    """Map each node of a repeated module copy to the matching node of the first copy.
    Returns (canonical id by node id, {first copy path: (class, [copy paths])},
    {node id: copy path} for nodes in folded groups, {first-copy node id: copies' nodes})."""
    canon = {}
    folded = {}
    copy_of = {}
    copies = defaultdict(list)
    hidden = []
    for group in _repeat_groups(_module_paths(order), classes):
        if any(_inside(group[0], h) for h in hidden):
            continue
        members = {p: [m for m in order if _inside(m.path, p)] for p in group}
        shapes = [_canonical(members[p], p, edges) for p in group]
        # The longest run of copies identical to their neighbours, from each start.
        start = 0
        while start < len(group) - 1:
            end = start + 1
            while end < len(group) and shapes[end][1] == shapes[start][1]:
                end += 1
            if end - start > 1:
                first = shapes[start][0]
                for j in range(start, end):
                    for a, b in zip(first, shapes[j][0]):
                        canon[id(b.node)] = id(a.node)
                        copy_of[id(b.node)] = group[start]
                        copies[id(a.node)].append(b)
                    if j > start:
                        hidden.append(group[j])
                folded[group[start]] = (classes.get(group[start]), group[start:end])
            start = end
    return canon, folded, copy_of, copies


def _box_of(path, max_depth, collapse, classes):
    """The collapsed module a node at ``path`` is drawn inside, or None."""
    parts = _parts(path)
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if (max_depth is not None and i >= max_depth) or classes.get(prefix) in collapse:
            return prefix
    return None


# -- drawing -------------------------------------------------------------------

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


def _fold_name(name, copy_paths):
    """``blocks.0.ln.weight`` of a group blocks.0..5 -> ``blocks.[0-5].ln.weight``."""
    first = copy_paths[0]
    head, _, i = first.rpartition(".")
    last = copy_paths[-1].rpartition(".")[2]
    return (f"{head}.[{i}-{last}]" if head else f"[{i}-{last}]") + name[len(first):]


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
    if isinstance(root, Tensor):
        root_tensor, root_node = root, root.grad_fn
        if root_node is None:
            raise ValueError("draw_graph: the tensor has no grad_fn (it is a leaf, or was "
                             "computed under no_grad or from inputs without requires_grad)")
    else:
        root_tensor, root_node = None, root
        if not hasattr(root, "next_functions"):
            raise TypeError(f"draw_graph: root should be a Tensor or a graph node, "
                            f"not {type(root).__name__}")
    if max_depth is not None and max_depth < 1:
        raise ValueError(f"draw_graph: max_depth should be >= 1 (the depth of a module is "
                         f"the number of parts of its dotted path), got {max_depth}")
    if isinstance(collapse, str):
        collapse = (collapse,)
    collapse = tuple(collapse)
    names, classes = _names_and_classes(params)
    if collapse and not classes:
        raise ValueError("draw_graph: collapse= needs the classes of the modules: pass the "
                         "model as params")
    if direction not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"draw_graph: direction should be 'TB', 'LR', 'BT' or 'RL', "
                         f"got {direction!r}")

    order, nodes, edges = _walk(root_node)
    prefix = _path_prefix(order, classes) if classes else ""
    if prefix:
        names = {key: f"{prefix}.{name}" for key, name in names.items()}
        classes = {(f"{prefix}.{path}" if path else prefix): cls for path, cls in classes.items()}
    named_ops = {}
    if isinstance(params, dict):
        named_ops = {id(t.grad_fn): (n, t) for n, t in params.items()
                     if isinstance(t, Tensor) and t.grad_fn is not None}
    if root_tensor is not None:
        named_ops.setdefault(id(root_node), (None, root_tensor))
    for info in order:
        variable = getattr(info.node, "variable", None) if info.op == "AccumulateGrad" else None
        if info.op == "AccumulateGrad":
            info.tensor = variable
            info.dtype = None if variable is None else variable.dtype
            info.name = None if variable is None else names.get(id(variable))
            info.kind = "param" if info.name is not None else "input"
            if info.name is not None and "." in info.name:
                info.path = info.name.rpartition(".")[0]  # a parameter lives in its module
        elif id(info.node) in named_ops:
            info.name, info.tensor = named_ops[id(info.node)]
    scalar = all(int(np.prod(i.shape)) <= 1 for i in order)

    canon, folded, copy_of, copies = (_fold(order, edges, classes) if fold_repeats
                                      else ({}, {}, {}, {}))
    visible = [i for i in order if canon.get(id(i.node), id(i.node)) == id(i.node)]
    notes = []
    present_depth = max((len(_parts(i.path)) for i in order), default=0)

    def units_for(depth):
        rep = {}
        for info in visible:
            box = _box_of(info.path, depth, collapse, classes)
            rep[id(info.node)] = ("box", box) if box is not None else ("node", id(info.node))
        return rep

    rep = units_for(max_depth)
    drawn = len(set(rep.values()))
    if drawn > NODE_BUDGET:
        depth = min(max_depth or present_depth, present_depth)
        while depth > 1 and len(set(rep.values())) > NODE_BUDGET:
            depth -= 1
            rep = units_for(depth)
        notes.append(f"{drawn} nodes is above the budget of {NODE_BUDGET}: drawn with "
                     f"max_depth={depth}")
        drawn = len(set(rep.values()))
    kept = None
    if drawn > NODE_BUDGET:  # flat graphs (no modules): keep the part nearest the root
        kept = set()
        for info in visible:
            kept.add(rep[id(info.node)])
            if len(kept) == NODE_BUDGET:
                break
        notes.append(f"only the {NODE_BUDGET} nodes nearest the output of {drawn} are drawn")
    for note in notes:
        warnings.warn(f"draw_graph: {note}", stacklevel=2)

    graph = Graph(graph_attr={"rankdir": direction, "fontname": "Helvetica", "fontsize": "11",
                              "labelloc": "b", "newrank": "true", "ranksep": "0.3",
                              "nodesep": "0.2"},
                  node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled",
                             "shape": "box", "height": "0.3", "margin": "0.06,0.03"},
                  edge_attr={"arrowsize": "0.6", "color": "#555555"})
    graph.full_count = len(order)
    graph.notes = tuple(notes)

    # Gradient norms of the drawn tensors: the colour scale runs over their range.
    norms = {}
    if show_grads:
        for info in visible:
            if info.tensor is not None and info.kind != "op" or info.name is not None:
                group = [info] + copies.get(id(info.node), [])[1:]
                values = [_grad_norm(m.tensor) for m in group if m.tensor is not None]
                values = [v for v in values if v is not None]
                if values:
                    norms[id(info.node)] = (min(values), max(values))
    positive = [v for lo, hi in norms.values() for v in (lo, hi) if v > 0]
    lo_log, hi_log = ((np.log10(min(positive)), np.log10(max(positive))) if positive
                      else (0.0, 0.0))
    # Six decades of colour at most: anything smaller is simply "vanishing" (full blue).
    lo_log = max(lo_log, hi_log - _DECADES)

    def fill_for(key):
        lo, hi = norms[key]
        if hi == 0:
            return "#999999"
        if hi_log - lo_log < 1e-9:
            return _ramp(0.5)
        value = np.log10(np.sqrt(max(lo, 1e-300) * hi))  # geometric middle of the copies
        return _ramp((value - lo_log) / (hi_log - lo_log))

    def grad_text(key):
        lo, hi = norms[key]
        return f"|grad| {lo:.2e}" if lo == hi else f"|grad| {lo:.1e}..{hi:.1e}"

    def label_for(info):
        name = info.name
        if name is not None and info.path in copy_of_first:
            name = _fold_name(name, folded[copy_of_first[info.path]][1])
        lines = []
        if info.kind == "op":
            op = info.op[:-len("Backward")] if info.op.endswith("Backward") else info.op
            lines.append(op if name is None else f"{name} = {op}")
        else:
            lines.append(name if name is not None else "input")
        if show_shapes and not scalar:
            text = _shape_text(info.shape)
            dtype = info.dtype
            if dtype is not None and (info.kind != "op" or str(dtype) != "float32"):
                text += f" {dtype}"
            lines.append(text)
        if info.tensor is not None and scalar:
            lines.append(f"data {_short(float(np.asarray(info.tensor.data).reshape(-1)[0]))}")
            grad = info.tensor.grad
            if grad is not None and show_grads:
                lines.append(f"grad {_short(float(np.asarray(grad).reshape(-1)[0]))}")
        elif info.tensor is not None:
            if show_values:
                lines.append(_stats(info.tensor))
            if id(info.node) in norms:
                lines.append(grad_text(id(info.node)))
        return "\n".join(lines)

    # Which cluster paths are first copies of a folded group (and their group).
    copy_of_first = {}
    for first in folded:
        for info in visible:
            if _inside(info.path, first):
                copy_of_first[info.path] = first

    # Units: nodes and boxes, each in the cluster of its module path.
    members = defaultdict(list)   # cluster path -> [(unit id, attrs)]
    unit_ids = {}
    box_counts = defaultdict(lambda: [0, 0])
    for info in visible:
        unit = rep[id(info.node)]
        if kept is not None and unit not in kept:
            continue
        if unit[0] == "box":
            box_counts[unit[1]][0 if info.kind == "op" else 1] += 1
            if unit in unit_ids:
                continue
            uid = f"b{len(unit_ids)}"
            unit_ids[unit] = uid
            members[unit[1].rpartition(".")[0]].append((uid, unit[1]))
            continue
        uid = f"n{info.index}"
        unit_ids[unit] = uid
        attrs = {"label": label_for(info)}
        if info.kind == "op":
            attrs.update(fillcolor=_OP_FILL, style="rounded,filled")
        else:
            attrs["fillcolor"] = _PARAM_FILL if info.kind == "param" else _INPUT_FILL
        if id(info.node) in norms and not scalar:  # scalars show their grads as numbers
            attrs["fillcolor"] = fill_for(id(info.node))
            if _dark(attrs["fillcolor"]):
                attrs["fontcolor"] = "white"
        if info.node is root_node:
            attrs.update(fillcolor=_ROOT_FILL, penwidth="2")
        members[info.path].append((uid, attrs))

    for unit, uid in unit_ids.items():
        if unit[0] != "box":
            continue
        path = unit[1]
        cls = classes.get(path)
        ops, tensors = box_counts[path]
        head = (path if path not in copy_of_first
                else _fold_name(path, folded[copy_of_first[path]][1]))
        label = f"{head}\n{cls}" if cls else head
        if path in folded:
            label += f" x {len(folded[path][1])}"
        label += f"\n{ops} ops, {tensors} tensors"
        for i, (member_id, p) in enumerate(members[path.rpartition(".")[0]]):
            if member_id == uid:
                members[path.rpartition(".")[0]][i] = (uid, {
                    "label": label, "shape": "box3d", "fillcolor": _BOX_FILL})

    def cluster_label(path):
        cls = classes.get(path)
        if path in folded:
            group = folded[path][1]
            return f"{_fold_name(path, group)}: {cls or 'module'} x {len(group)}"
        if path in copy_of_first:
            path = _fold_name(path, folded[copy_of_first[path]][1])
        return f"{path}: {cls}" if cls else path

    def emit(target, path):
        for uid, attrs in members.get(path, ()):
            target.node(uid, **attrs)
        for child in sorted(children[path]):
            if not group_modules or classes.get(child) in _LIST_CLASSES or (
                    classes and child not in classes) or (
                    not classes and child.rpartition(".")[2] in list_containers):
                emit(target, child)  # a ModuleList runs nothing itself: no cluster
                continue
            with target.subgraph(name="cluster_" + re.sub(r"\W", "_", child) or "root") as sub:
                style = {"style": "rounded,filled", "color": "#999999",
                         "fillcolor": "#ffffff" if child.count(".") % 2 else "#f7f9fc"}
                if child in folded:
                    style.update(penwidth="2.5", color="#3c78d8")
                sub.attr(label=cluster_label(child), fontsize="10", labeljust="l", **style)
                emit(sub, child)

    children = defaultdict(set)
    list_containers = set()
    for path in list(members):
        parts = _parts(path)
        for i in range(len(parts), 0, -1):
            parent = ".".join(parts[:i - 1])
            children[parent].add(".".join(parts[:i]))
            if parts[i - 1].isdigit() and i > 1:
                list_containers.add(parts[i - 2])
    emit(graph, "")

    drawn_edges = set()
    for a, b in edges:
        if a not in nodes or b not in nodes:
            continue
        if a in copy_of and b in copy_of and copy_of[a] == copy_of[b] and \
                _copy_index(nodes[a], folded, copy_of) != _copy_index(nodes[b], folded, copy_of):
            continue  # from one copy of a repeated block into the next: folded away
        ua = rep.get(canon.get(a, a))
        ub = rep.get(canon.get(b, b))
        if ua is None or ub is None or ua == ub or ua not in unit_ids or ub not in unit_ids:
            continue
        drawn_edges.add((unit_ids[ua], unit_ids[ub]))
    for a, b in sorted(drawn_edges):
        graph.edge(a, b)

    legend = []
    if positive and not scalar:
        legend.append(f"fill: log10 |grad| from {10 ** lo_log:.1e} or less (blue) to "
                      f"{10 ** hi_log:.1e} (red)")
    legend += notes
    if legend:
        graph.attr(label="\n".join(legend))
    graph.node_count = len(unit_ids)
    return graph


def _copy_index(info, folded, copy_of):
    """Which copy (0, 1, ...) of its folded group a node lies in."""
    group = folded[copy_of[id(info.node)]][1]
    for i, path in enumerate(group):
        if _inside(info.path, path):
            return i
    return -1
