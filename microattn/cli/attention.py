"""``microattn attention RUN --input "..."``: a trained model's attention for any input."""
from .common import add_trust_task, check_output, fail, open_run


def add_parser(subparsers):
    p = subparsers.add_parser(
        "attention", help="draw a trained model's attention for any input",
        description="Run a trained model on one input and draw the attention weights of "
                    "every layer and head (one block per attention kind), or of one head "
                    "with --layer/--head, with the task's expected pattern outlined.")
    p.add_argument("run_dir", metavar="RUN", help="a run folder written by microattn train")
    p.add_argument("--input", required=True, metavar="TEXT",
                   help="the input, written as the task writes its sources")
    p.add_argument("--target", metavar="TEXT",
                   help="the output to attend over (default: the model's own answer)")
    p.add_argument("--kind", choices=("encoder", "decoder", "cross"),
                   help="the attention kind of --layer/--head (default: the task's "
                        "expected one, else cross, else decoder)")
    p.add_argument("--layer", type=int, help="draw one head of this layer (from 0)")
    p.add_argument("--head", type=int, help="draw this head (from 0)")
    p.add_argument("--out", metavar="FILE", default="attention-input.png",
                   help="the picture to write, .png/.svg/.pdf (default attention-input.png)")
    add_trust_task(p)
    p.set_defaults(run=run, parser=p)


def _example(task, model, text, target):
    """(source, target) tokens for ``text``; the target is the model's own answer
    unless ``--target`` gives one."""
    source = task.parse(text)
    if not source:
        raise ValueError("--input is empty")
    if target is not None:
        return source, task.parse(target)
    return source, task.predict(model, [source])[0]


def run(args):
    # matplotlib is imported here, not with the command line, so other commands start fast.
    from ..viz.attention import (KIND_TITLES, masked_weights, plot_attention,
                                 plot_attention_grid, row_labels, save_figure)
    from ..viz.recorder import capture_attention
    check_output(args.out)
    try:
        loaded = open_run(args.run_dir, args.trust_task)
    except ValueError as error:
        return fail("attention", error)
    task, model = loaded.task, loaded.model
    try:
        example = _example(task, model, args.input, args.target)
        captured = capture_attention(model, task, example)
        labels = row_labels(task.attention_view(example), example)
        expected = task.expected_mask(example)
    except (KeyError, ValueError, IndexError) as error:
        return fail("attention", f"cannot run the model on this input: {error}")
    weights = masked_weights(captured)  # masked positions drawn grey
    if args.layer is None and args.head is None and args.kind is None:
        fig = plot_attention_grid(weights, labels, expected,
                                  title=f"{getattr(task, 'name', '')}: {args.input}")
    else:
        kind = args.kind or (expected[0] if expected else
                             "cross" if "cross" in weights else "decoder")
        if kind not in weights:
            return fail("attention", f"the model has no {kind} attention "
                                     f"(it has {', '.join(weights)})")
        layers, heads = weights[kind].shape[:2]
        layer, head = args.layer or 0, args.head or 0
        if not (0 <= layer < layers and 0 <= head < heads):
            return fail("attention", f"{kind} attention has layers 0..{layers - 1} and "
                                     f"heads 0..{heads - 1}, not layer {layer} head {head}")
        mask = expected[1] if expected is not None and expected[0] == kind else None
        query, key = labels.get(kind, (None, None))
        fig = plot_attention(weights[kind][layer, head], query, key, expected=mask,
                             title=f"{KIND_TITLES.get(kind, kind)}\nlayer {layer} head {head}: "
                                   f"{args.input}")
    try:
        save_figure(fig, args.out)
    except ValueError as error:   # a format matplotlib cannot write; a disk fault is exit 1
        return fail("attention", f"cannot write {args.out}: {error}")
    print(f"wrote {args.out}")
    return 0
