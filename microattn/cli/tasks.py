"""``microattn tasks``: the built-in tasks, their kind, what they teach, their default model."""
from ..data import BUILT_IN, load_task
from ..train import Config


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "tasks", help="list the built-in tasks",
        description="List the built-in tasks: name, kind (seq2seq: encoder-decoder; lm: GPT), "
                    "default model and steps, and what each teaches. Train one with "
                    "`microattn train NAME`, or your own with `microattn train FILE.py` "
                    "(docs/tasks.md).")
    parser.set_defaults(run=run, parser=parser)


def model_summary(config):
    return (f"d_model {config.d_model}, {config.heads} heads, {config.layers} layers, "
            f"{config.steps} steps")


def run(args):
    rows = []
    for name in BUILT_IN:
        task = load_task(name)
        rows.append((name, task.kind, model_summary(Config.for_task(task)), task.description))
    width = max(len(r[2]) for r in rows)
    for name, kind, model, description in rows:
        print(f"{name:<10} {kind:<8} {model:<{width}}  {description}")
    return 0
