"""``microattn export RUN OUT.safetensors``: a run's weights for PyTorch."""
import pathlib

from ..train import load_trained
from ..train.export import export_safetensors
from .common import UsageError, add_run, check_output


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export", help="write a run's weights as safetensors with torch.nn names",
        description="Write the weights of a run's checkpoint in the safetensors format, under "
                    "the parameter names of the equivalent torch.nn model (q/k/v packed into "
                    "in_proj_weight as torch.nn.MultiheadAttention), with the run's config "
                    "and vocabulary in the header. Load with safetensors.torch.load_file.")
    add_run(parser)
    parser.add_argument("out", metavar="OUT.safetensors", help="the file to write")
    parser.set_defaults(run=run, parser=parser)


def run(args):
    out = pathlib.Path(args.out)
    if out.suffix != ".safetensors":
        raise UsageError(f"the output should end in .safetensors, got {args.out!r}")
    check_output(out)
    task, model, config, step = load_trained(args.run_dir, args.trust_task)
    export_safetensors(model, out, {"microattn_config": config.to_dict(),
                                    "vocab": task.tokenizer.tokens, "step": step,
                                    "kind": task.kind})
    print(f"wrote {out}: {len(task.tokenizer)} tokens, step {step}, "
          f"{model.num_parameters():,} parameters")
    return 0
