"""Walking the graph a backward pass runs, for draw_graph (viz/graph.py): which nodes
there are, their names and module paths, which repeated module copies fold into
one, and which nodes are drawn as one box (max_depth, collapse, the node budget).
Nothing here draws: ``plan_graph`` returns a :class:`GraphPlan` that graph.py turns
into Graphviz.
"""
import dataclasses
from collections import defaultdict

import numpy as np

from ..core import Tensor


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


@dataclasses.dataclass
class GraphPlan:
    """What to draw. ``order``: every node (a _Node), nearest the root first;
    ``nodes``: id -> _Node; ``edges``: (input id, consumer id); ``visible``: the
    nodes drawn (first copies of folded modules); ``rep``: node id -> its unit,
    ("node", id) or ("box", module path); ``kept``: the units kept under the node
    budget (None: all); ``folded``: first copy path -> (class, copy paths);
    ``copy_of``: node id -> its copy's path; ``copies``: first-copy node id ->
    the matching nodes of every copy; ``canon``: node id -> first-copy node id;
    ``first_copy``: module path -> the folded group's first path it lies in."""
    order: list
    nodes: dict
    edges: set
    classes: dict
    visible: list
    rep: dict
    kept: object
    folded: dict
    copy_of: dict
    copies: dict
    canon: dict
    first_copy: dict
    notes: list
    scalar: bool
    root: object


def _name_nodes(order, names, params, root_node, root_tensor):
    """Give parameter and input leaves their tensor, name and kind, and named
    intermediate tensors (a dict ``params``, and the root) their name."""
    named_ops = {}
    if isinstance(params, dict):
        named_ops = {id(t.grad_fn): (n, t) for n, t in params.items()
                     if isinstance(t, Tensor) and t.grad_fn is not None}
    if root_tensor is not None:
        named_ops.setdefault(id(root_node), (None, root_tensor))
    for info in order:
        if info.op == "AccumulateGrad":
            variable = getattr(info.node, "variable", None)
            info.tensor = variable
            info.dtype = None if variable is None else variable.dtype
            info.name = None if variable is None else names.get(id(variable))
            info.kind = "param" if info.name is not None else "input"
            if info.name is not None and "." in info.name:
                info.path = info.name.rpartition(".")[0]  # a parameter lives in its module
        elif id(info.node) in named_ops:
            info.name, info.tensor = named_ops[id(info.node)]


def _units(visible, depth, collapse, classes):
    """node id -> ("box", module path) when drawn inside a collapsed module, else
    ("node", id)."""
    rep = {}
    for info in visible:
        box = _box_of(info.path, depth, collapse, classes)
        rep[id(info.node)] = ("box", box) if box is not None else ("node", id(info.node))
    return rep


def _fit_budget(order, visible, max_depth, collapse, classes, budget):
    """The units at ``max_depth``, made shallower until at most ``budget`` are drawn;
    a flat graph still over it keeps the units nearest the root. Returns (rep, kept,
    notes)."""
    rep = _units(visible, max_depth, collapse, classes)
    drawn = len(set(rep.values()))
    notes = []
    if drawn > budget:
        present_depth = max((len(_parts(i.path)) for i in order), default=0)
        depth = min(max_depth or present_depth, present_depth)
        while depth > 1 and len(set(rep.values())) > budget:
            depth -= 1
            rep = _units(visible, depth, collapse, classes)
        notes.append(f"{drawn} nodes is above the budget of {budget}: drawn with "
                     f"max_depth={depth}")
        drawn = len(set(rep.values()))
    kept = None
    if drawn > budget:  # flat graphs (no modules): keep the part nearest the root
        kept = set()
        for info in visible:
            kept.add(rep[id(info.node)])
            if len(kept) == budget:
                break
        notes.append(f"only the {budget} nodes nearest the output of {drawn} are drawn")
    return rep, kept, notes


def plan_graph(root_node, root_tensor, params, max_depth, collapse, fold_repeats, budget):
    """Walk the graph from ``root_node`` and decide what is drawn -> GraphPlan."""
    names, classes = _names_and_classes(params)
    if collapse and not classes:
        raise ValueError("draw_graph: collapse= needs the classes of the modules: pass the "
                         "model as params")
    order, nodes, edges = _walk(root_node)
    prefix = _path_prefix(order, classes) if classes else ""
    if prefix:
        names = {key: f"{prefix}.{name}" for key, name in names.items()}
        classes = {(f"{prefix}.{path}" if path else prefix): cls for path, cls in classes.items()}
    _name_nodes(order, names, params, root_node, root_tensor)
    canon, folded, copy_of, copies = (_fold(order, edges, classes) if fold_repeats
                                      else ({}, {}, {}, {}))
    visible = [i for i in order if canon.get(id(i.node), id(i.node)) == id(i.node)]
    rep, kept, notes = _fit_budget(order, visible, max_depth, collapse, classes, budget)
    first_copy = {info.path: first for first in folded for info in visible
                  if _inside(info.path, first)}
    return GraphPlan(order=order, nodes=nodes, edges=edges, classes=classes, visible=visible,
                     rep=rep, kept=kept, folded=folded, copy_of=copy_of, copies=copies,
                     canon=canon, first_copy=first_copy, notes=notes,
                     scalar=all(int(np.prod(i.shape)) <= 1 for i in order), root=root_node)


def fold_name(name, copy_paths):
    """``blocks.0.ln.weight`` of a group blocks.0..5 -> ``blocks.[0-5].ln.weight``."""
    first = copy_paths[0]
    head, _, i = first.rpartition(".")
    last = copy_paths[-1].rpartition(".")[2]
    return (f"{head}.[{i}-{last}]" if head else f"[{i}-{last}]") + name[len(first):]


def copy_index(info, folded, copy_of):
    """Which copy (0, 1, ...) of its folded group a node lies in."""
    group = folded[copy_of[id(info.node)]][1]
    for i, path in enumerate(group):
        if _inside(info.path, path):
            return i
    return -1
