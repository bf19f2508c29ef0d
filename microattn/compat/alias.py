"""``install_as_torch()``: microattn under PyTorch's module names (see microattn/as_torch.py)."""
import importlib
import sys

ALIASES = {
    "torch": "microattn",
    "torch.nn": "microattn.nn",
    "torch.nn.functional": "microattn.functional",
    "torch.nn.init": "microattn.nn.init",
    "torch.nn.utils": "microattn.nn.utils",
    "torch.nn.parameter": "microattn.nn.module",
    "torch.nn.modules": "microattn.nn",
    "torch.optim": "microattn.optim",
    "torch.optim.lr_scheduler": "microattn.optim.lr_scheduler",
    "torch.cuda": "microattn.cuda",
    "torch.autograd": "microattn.core",
    "torch.utils": "microattn.utils",
    "torch.utils.data": "microattn.utils.data",
    "torch.utils.data.dataset": "microattn.utils.data",
    "torch.utils.data.dataloader": "microattn.utils.data",
    "torch.utils.data.sampler": "microattn.compat.sampler",
    "torch.distributed": "microattn.compat.distributed",
    "torch.multiprocessing": "microattn.compat.multiprocessing",
    "torch.nn.parallel": "microattn.compat.parallel",
}


def install_as_torch():
    """Make ``import torch`` (and its submodules above) give microattn from now on."""
    existing = sys.modules.get("torch")
    if existing is not None and not getattr(existing, "__name__", "").startswith("microattn"):
        raise RuntimeError("install_as_torch(): the real torch is already imported in this "
                           "process; call install_as_torch() before anything imports torch")
    for alias, target in ALIASES.items():
        sys.modules[alias] = importlib.import_module(target)
    for alias in ALIASES:  # torch.nn.parallel is also the attribute parallel of torch.nn
        parent, _, child = alias.rpartition(".")
        if parent and not hasattr(sys.modules[parent], child):
            setattr(sys.modules[parent], child, sys.modules[alias])
