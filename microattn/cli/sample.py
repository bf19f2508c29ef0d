"""``microattn sample RUN``: text sampled from a trained GPT."""
import numpy as np

import microattn as ma
from ..train import load_trained
from .common import UsageError, add_run, add_threads, nonnegative_float, positive_int, seed_int


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "sample", help="sample from a trained GPT (lm tasks)",
        description="Continue a prompt with tokens sampled from a run's GPT: "
                    "softmax(logits / temperature), restricted to the top-k tokens if given; "
                    "temperature 0 is greedy. Stops at <eos> (open-ended tasks such as charlm "
                    "have none).")
    add_run(parser)
    parser.add_argument("--prompt", default="", help="the text to continue (default: none)")
    parser.add_argument("--tokens", type=positive_int, default=200, metavar="N",
                        help="tokens to sample (default 200)")
    parser.add_argument("--temperature", type=nonnegative_float, default=1.0,
                        help="sampling temperature (default 1; 0: greedy)")
    parser.add_argument("--top-k", type=positive_int, default=None, metavar="K",
                        help="sample only from the K most likely tokens")
    parser.add_argument("--seed", type=seed_int, default=0,
                        help="seed of the draws (default 0)")
    add_threads(parser)
    parser.set_defaults(run=run, parser=parser)


def run(args):
    task, model, _, _ = load_trained(args.run_dir, args.trust_task)
    if task.kind != "lm":
        raise UsageError(f"task {task.name} is seq2seq; sample works on GPT (lm) tasks "
                         f"(use predict)")
    prompt = task.parse(args.prompt)
    tok = task.tokenizer
    try:
        ids = [tok.bos_id] + tok.encode(prompt)
    except ValueError as error:
        raise UsageError(f"{error} (task {task.name})") from None
    ma.manual_seed(args.seed)
    out = model.generate(np.array([ids], dtype=np.int64), args.tokens,
                         temperature=args.temperature, top_k=args.top_k)
    new = tok.decode(np.asarray(out._data)[0, len(ids):])
    print(task.format(prompt + new))
    return 0
