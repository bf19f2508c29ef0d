"""Rewrite the table of public names at the end of docs/pytorch.md.

    PYTHONPATH=. python docs/pytorch_names.py

Run it after adding a public name (tests/test_pytorch_compat.py fails until
the table lists it). It needs PyTorch, to name each name's counterpart.
"""
import contextlib
import io
from pathlib import Path

import torch
import torch.nn.functional as TF
import microattn as ma
from microattn import nn, optim, functional as F

NOTES = {
    "ma.empty": "zeros (not uninitialised memory)", "ma.empty_like": "zeros",
    "ma.Size": "the plain `tuple` (shapes are tuples)",
    "ma.finfo": "`numpy.finfo`", "ma.iinfo": "`numpy.iinfo`",
    "ma.device": "only `\"cpu\"` holds tensors; other names raise on use",
    "ma.save": "npz + JSON, never pickle", "ma.load": "never unpickles",
    "ma.multinomial": "numpy's generator: other samples than PyTorch's for one seed",
    "ma.manual_seed": "seeds every sampler (one numpy generator)",
    "ma.gradcheck": "float64 central differences; raises `GradcheckError`",
    "ma.install_as_torch": "makes `import torch` give microattn",
    "ma.Function": "`forward(ctx, ...)` / `backward(ctx, g)` on ndarrays",
    "ma.float": "dtype float32 (a numpy dtype)", "ma.int": "dtype int32", "ma.bool": "dtype bool",
    "ma.pad": "", "F.pad": "`mode='constant'` only", "nn.CrossEntropyLoss": "no class `weight`",
    "nn.NLLLoss": "no class `weight`", "ma.scatter": "`reduce=None` or `'add'`",
    "nn.MultiheadAttention": "also `fused=`, `last_attn_weights`, `capture_graph`",
    "F.softmax": "also `fused=False` (composed graph)",
    "F.log_softmax": "also `fused=False`", "F.layer_norm": "also `fused=False`",
    "F.cross_entropy": "also `fused=False`; no class `weight`",
    "F.scaled_dot_product_attention": "also `need_weights=`, `fused=False`",
    "ma.cuda": "`is_available()` is False", "ma.view": "",
    "ma.LongTensor": "a constructor; `isinstance` asks for the dtype",
    "ma.FloatTensor": "a constructor; `isinstance` asks for the dtype",
    "nn.LSTM": "no `proj_size`", "nn.LazyLinear": "becomes a `Linear` on its first call",
}


def row(name, theirs_owner, theirs_prefix, short):
    theirs = getattr(theirs_owner, short, None) if theirs_owner is not None else None
    pt = f"`{theirs_prefix}{short}`" if theirs is not None else "microattn only"
    return f"| `{name}` | {pt} | {NOTES.get(name, '')} |"


def table(title, names, prefix, theirs_owner, theirs_prefix):
    print(f"\n### {title}\n")
    print("| microattn | PyTorch | note |")
    print("|---|---|---|")
    for n in names:
        print(row(prefix + n, theirs_owner, theirs_prefix, n))


def tables():
    table("`microattn` (`torch`)", sorted(ma.__all__, key=str.lower), "ma.", torch, "torch.")
    table("`microattn.functional` (`torch.nn.functional`)", sorted(F.__all__), "F.", TF, "F.")
    table("`microattn.nn` (`torch.nn`)", sorted(nn.__all__), "nn.", torch.nn, "nn.")
    init = [n for n in dir(nn.init) if not n.startswith('_') and callable(getattr(nn.init, n))
            and getattr(nn.init, n).__module__ == nn.init.__name__]
    table("`microattn.nn.init` (`torch.nn.init`)", init, "nn.init.", torch.nn.init, "nn.init.")
    table("`microattn.nn.utils` (`torch.nn.utils`)", ["clip_grad_norm_", "clip_grad_value_"],
          "nn.utils.", torch.nn.utils, "nn.utils.")
    table("`microattn.optim` (`torch.optim`)", sorted(optim.__all__), "optim.", torch.optim, "optim.")
    sched = [n for n in dir(optim.lr_scheduler) if not n.startswith('_') and
             getattr(getattr(optim.lr_scheduler, n), '__module__', '') == optim.lr_scheduler.__name__]
    table("`microattn.optim.lr_scheduler`", sched, "lr_scheduler.", torch.optim.lr_scheduler,
          "lr_scheduler.")
    table("`microattn.cuda` (`torch.cuda`)", [n for n in dir(ma.cuda) if not n.startswith('_')],
          "cuda.", torch.cuda, "torch.cuda.")
    data = ["Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "DataLoader",
            "default_collate", "Sampler", "SequentialSampler", "RandomSampler",
            "SubsetRandomSampler", "BatchSampler"]
    table("`microattn.utils.data` (`torch.utils.data`)", data, "utils.data.", torch.utils.data,
          "utils.data.")
    meths = sorted(n for n in dir(ma.Tensor) if not n.startswith('_'))
    print("\n### `Tensor` attributes and methods (each as PyTorch's `Tensor`'s)\n")
    print(", ".join(f"`{m}`" for m in meths) + ".")
    missing = [m for m in meths if not hasattr(torch.Tensor, m)]
    print(f"\nmicroattn only: {', '.join(f'`{m}`' for m in missing)}.")


def main():
    path = Path(__file__).parent / "pytorch.md"
    text = path.read_text()
    marker = "## Every public name\n"
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        tables()
    path.write_text(text[:text.index(marker) + len(marker)] + buffer.getvalue())


if __name__ == "__main__":
    main()
