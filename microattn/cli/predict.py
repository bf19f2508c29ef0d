"""``microattn predict RUN "input"``: a trained run's greedy answer."""
from ..train import load_trained
from .common import UsageError, add_run, add_threads


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "predict", help="a trained run's answer for an input",
        description="Print the greedy answer of a run's model, e.g. "
                    "`microattn predict RUN 'the ball is blue'` -> `la bola es azul`.")
    add_run(parser)
    parser.add_argument("input", help="the source, written as the task writes it")
    add_threads(parser)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    task, model, _, _ = load_trained(args.run_dir, args.trust_task)
    source = task.parse(args.input)
    try:
        task.tokenizer.encode(source)
    except ValueError as error:
        raise UsageError(f"{error} (task {task.name})") from None
    if len(source) > task.max_len:
        raise UsageError(f"the input has {len(source)} tokens; task {task.name} takes at most "
                         f"{task.max_len}")
    if (not source or not args.input.strip()) and all(s for s, _ in task.held_out):
        # A model only knows empty inputs if its task has them (charlm's sources are all
        # empty: its answer is then a text from nothing); for any other it is a mistake.
        raise UsageError(f"the input is empty; task {task.name} always has a source to "
                         f"answer (e.g. {task.format(task.held_out[0][0])!r})")
    print(task.format(task.predict(model, [source])[0], answer=True))
    return 0
