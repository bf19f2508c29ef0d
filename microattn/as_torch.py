"""Run PyTorch code on microattn: ``import torch`` gets microattn.

``ma.install_as_torch()`` puts microattn into ``sys.modules`` under PyTorch's
module names, so for the rest of the process ``import torch``,
``import torch.nn as nn``, ``from torch.nn import functional as F``,
``torch.optim``, ``torch.optim.lr_scheduler``, ``torch.nn.init`` and
``torch.cuda`` all resolve to microattn's modules. From a shell::

    python -m microattn.as_torch script.py [args]

runs ``script.py`` as ``__main__`` that way. The real torch, if installed, is
not imported; one already imported raises, since its tensors and ours would mix.
"""
import runpy
import sys

from .compat.alias import install_as_torch

def main(argv=None):
    """``python -m microattn.as_torch script.py [args]``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m microattn.as_torch script.py [args ...]\n"
              "Run a PyTorch script with `import torch` resolving to microattn.",
              file=sys.stderr if not argv else sys.stdout)
        return 2 if not argv else 0
    install_as_torch()
    sys.argv = argv
    runpy.run_path(argv[0], run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main())
