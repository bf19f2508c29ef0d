"""Gradient clipping, as ``torch.nn.utils``."""
import numpy as np

from ..autograd import Tensor


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [np.asarray(p.grad) for p in parameters if p.grad is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients in place so that their joint norm is at most ``max_norm``.

    The joint norm is the ``norm_type``-norm of all gradients as one vector
    (``inf`` for the largest magnitude). As in PyTorch, every gradient is
    multiplied by ``min(1, max_norm / (total_norm + 1e-6))``; the 1e-6 keeps
    the factor finite when every gradient is zero. Returns the total norm
    measured before clipping, as a 0-d tensor.
    """
    grads = _grads(parameters)
    if not grads:
        return Tensor(0.0)
    norm_type = float(norm_type)
    norms = [np.linalg.norm(g.ravel(), ord=norm_type) for g in grads]
    total = np.linalg.norm(np.array(norms), ord=norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is "
                           f"{total}, so they cannot be clipped; pass "
                           "error_if_nonfinite=False to clip anyway")
    scale = min(1.0, max_norm / (float(total) + 1e-6))
    if scale < 1.0:  # a factor of exactly 1 would change nothing
        for g in grads:
            g *= scale
    return Tensor(np.asarray(total))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
