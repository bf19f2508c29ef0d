"""``microattn graph [RUN] --what ...``: draw the computation graph of a model or a piece of it.

With a run folder the pieces come from its trained model (and a training step on
the task's first held-out example); without one, from a freshly built small GPT.
"""
import numpy as np

import microattn as ma
from .. import functional as F
from ..models import GPT
from ..nn import MultiheadAttention, TransformerDecoderLayer, TransformerEncoderLayer
from .common import add_trust_task, check_output, fail, open_run

PIECES = ("model", "layer", "attention", "attention-fused", "mlp-scalar")


def add_parser(subparsers):
    p = subparsers.add_parser(
        "graph", help="draw the computation graph of a model or a piece of one",
        description="Draw the graph a backward pass walks, clustered by module, with "
                    "parameters named and coloured by gradient norm. 'model' is one training "
                    "step (forward, loss, backward); 'layer' the first Transformer layer; "
                    "'attention' the first attention module composed of primitive ops, "
                    "'attention-fused' the same with the fused kernel; 'mlp-scalar' a "
                    "micrograd-style MLP of scalars, showing every value and gradient.")
    p.add_argument("run_dir", nargs="?", metavar="RUN",
                   help="a run folder (default: a freshly built 2-layer GPT)")
    p.add_argument("--what", choices=PIECES, default="model", help="which graph (default model)")
    p.add_argument("--max-depth", type=int, metavar="K",
                   help="draw modules whose dotted path has K parts as single boxes")
    p.add_argument("--collapse", metavar="CLASS", action="append", default=[],
                   help="draw every module of this class as one box (repeatable), "
                        "e.g. --collapse MultiheadAttention")
    p.add_argument("--no-fold", action="store_true",
                   help="draw every repeated block instead of one labelled 'x N'")
    p.add_argument("--out", metavar="FILE",
                   help="output .svg, .png or .pdf (default graph-<what>.svg)")
    add_trust_task(p)
    p.set_defaults(run=run, parser=p)


def _small_model():
    return GPT(vocab_size=12, d_model=16, nhead=2, num_layers=2, max_len=16)


def _step_loss(model, task):
    """The loss of one training step, after its backward: the task's loss on its first
    held-out example (in eval mode, so without dropout), or next-token prediction on
    random tokens for the small GPT."""
    if task is None:
        idx = np.random.default_rng(0).integers(0, model.vocab_size, (1, 9))
        logits = model(idx[:, :-1])  # (1, 8, V)
        loss = F.cross_entropy(logits.reshape(-1, model.vocab_size), idx[:, 1:].reshape(-1))
        loss.backward()
        return loss
    was_training = model.training
    model.eval()
    try:
        loss = task.loss(model, task.batch([task.held_out[0]]))
        loss.backward()
        return loss
    finally:
        model.train(was_training)


def _first(model, classes):
    for name, module in model.named_modules():
        if isinstance(module, classes):
            return name, module
    raise ValueError(f"the model has no {' or '.join(c.__name__ for c in classes)}")


def _features(module, length):
    """A random input (batch 1, ``length`` positions) in the module's layout."""
    d = module.embed_dim if isinstance(module, MultiheadAttention) else \
        module.linear1.in_features
    shape = (1, length, d) if module.batch_first else (length, 1, d)
    return ma.randn(*shape, requires_grad=True)


def _layer_graph(model, options):
    from ..viz import draw_graph

    name, layer = _first(model, (TransformerEncoderLayer, TransformerDecoderLayer))
    x = _features(layer, 6)
    causal = not name.startswith("encoder")
    if isinstance(layer, TransformerDecoderLayer):
        out = layer(x, _features(layer, 5), tgt_is_causal=True)
    else:
        out = layer(x, is_causal=causal)
    out.sum().backward()
    return draw_graph(out, params=layer, **options)


def _attention_graph(model, fused, options):
    from ..viz import draw_graph

    _, mha = _first(model, (MultiheadAttention,))
    x = _features(mha, 5)
    was = mha.fused
    mha.fused = fused
    try:
        out, _ = mha(x, x, x, is_causal=True)
    finally:
        mha.fused = was
    out.sum().backward()
    return draw_graph(out, params=mha, **options)


def mlp_scalar_graph(direction="LR"):
    """micrograd's example: a 2-2-1 MLP of scalar tensors and a squared error, every
    value and gradient shown (intermediate tensors named and retained)."""
    from ..viz import draw_graph

    rng = np.random.default_rng(0)
    named = {}

    def scalar(name, value, grad=True):
        named[name] = ma.tensor(float(value), requires_grad=grad)
        return named[name]

    x = [scalar("x0", 2.0), scalar("x1", -1.0)]
    hidden = []
    for j in range(2):
        total = scalar(f"h{j}.b", rng.uniform(-1, 1))
        for i in range(2):
            total = total + x[i] * scalar(f"h{j}.w{i}", rng.uniform(-1, 1))
        hidden.append(total.tanh())
        named[f"h{j}"] = hidden[-1]
    out = scalar("o.b", rng.uniform(-1, 1))
    for j in range(2):
        out = out + hidden[j] * scalar(f"o.w{j}", rng.uniform(-1, 1))
    named["o"] = out
    loss = (out - 1.0) ** 2
    named["loss"] = loss
    for t in named.values():
        if t.grad_fn is not None:
            t.retain_grad()
    loss.backward()
    return draw_graph(loss, params=named, direction=direction)


def run(args):
    # The pictures' libraries are imported here, not with the command line, so other
    # commands start fast.
    from ..viz import draw_graph, save_graph
    if args.max_depth is not None and args.max_depth < 1:
        return fail("graph", f"--max-depth should be at least 1, got {args.max_depth}")
    options = dict(max_depth=args.max_depth, collapse=tuple(args.collapse),
                   fold_repeats=not args.no_fold)
    out = args.out or f"graph-{args.what}.svg"
    if not out.endswith((".svg", ".png", ".pdf")):
        return fail("graph", f"--out should end in .svg, .png or .pdf, got {out!r}")
    check_output(out)
    ma.manual_seed(0)
    task = None
    if args.run_dir is not None:
        try:
            loaded = open_run(args.run_dir, args.trust_task)
        except ValueError as error:
            return fail("graph", error)
        model, task = loaded.model, loaded.task
    else:
        model = _small_model()
    try:
        if args.what == "mlp-scalar":
            graph = mlp_scalar_graph()
        elif args.what == "model":
            graph = draw_graph(_step_loss(model, task), params=model, **options)
        elif args.what == "layer":
            graph = _layer_graph(model, options)
        else:
            graph = _attention_graph(model, args.what == "attention-fused", options)
    except ValueError as error:
        return fail("graph", error)
    finally:
        model.zero_grad()
    path = save_graph(graph, out)
    print(f"wrote {path}: {graph.node_count} nodes drawn of {graph.full_count}")
    return 0

