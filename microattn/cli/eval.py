"""``microattn eval RUN``: held-out scores of a trained run, and a table of examples."""
from ..train import evaluate, load_trained
from .common import add_run, add_threads, positive_int
from .report import as_metrics, examples_table, scores_line


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "eval", help="score a trained run on its held-out set",
        description="Held-out exact match, token accuracy, loss and attention alignment of a "
                    "run's checkpoint, and a table of examples (wrong answers first).")
    add_run(parser)
    parser.add_argument("--examples", type=positive_int, default=5, metavar="N",
                        help="examples in the table (default 5)")
    add_threads(parser)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    task, model, config, step = load_trained(args.run_dir, args.trust_task)
    scores = evaluate(task, model)
    print(f"{task.name} at step {step} of {config.steps}, {len(task.held_out)} held-out examples")
    print(scores_line(as_metrics(scores, task)))
    if scores["predictions"] is not None:
        for line in examples_table(task, task.held_out, scores["predictions"], args.examples):
            print("  " + line)
    return 0
