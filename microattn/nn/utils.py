"""Gradient clipping, as ``torch.nn.utils``; :func:`grad_array`, the one way the
optimisers and these functions read a gradient, and :func:`zero_grads`."""
import numpy as np

from ..core import Tensor


def grad_array(param):
    """The ndarray holding ``param.grad`` (shared, so writing into it changes the
    gradient), or None if there is none. ``.grad`` may be an ndarray or a Tensor
    holding one: ``np.asarray`` shares the data of either."""
    return None if param.grad is None else np.asarray(param.grad)


def zero_grads(parameters, set_to_none=True):
    """Set each parameter's ``.grad`` to None, or with ``set_to_none=False`` fill it
    with zeros in place (what ``zero_grad`` of modules and optimisers does)."""
    for param in parameters:
        grad = grad_array(param)
        if grad is None:
            continue
        if set_to_none:
            param.grad = None
        else:
            grad[...] = 0


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = (grad_array(p) for p in parameters)
    return [g for g in grads if g is not None]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients in place so that their joint norm is at most ``max_norm``.

    The joint norm is the ``norm_type``-norm of all gradients as one vector
    (``inf`` for the largest magnitude). As in PyTorch, every gradient is
    multiplied by ``min(1, max_norm / (total_norm + 1e-6))``; the 1e-6 keeps
    the factor finite when every gradient is zero. Returns the total norm
    measured before clipping, as a 0-d tensor.

    A NaN or infinite gradient makes the total norm NaN or inf; as in PyTorch
    the gradients are then still scaled by the factor above (NaN, or 0 for an
    infinite norm, so they become NaN where they were not finite), unless
    ``error_if_nonfinite=True``, which raises RuntimeError and changes nothing.
    """
    grads = _grads(parameters)
    if not grads:
        return Tensor(0.0)
    norm_type = float(norm_type)
    norms = [np.linalg.norm(g.ravel(), ord=norm_type) for g in grads]
    total = np.linalg.norm(np.array(norms), ord=norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           f"`parameters` is {float(total)}, so it cannot be clipped; pass "
                           "error_if_nonfinite=False to scale the gradients by it anyway")
    # np.minimum, not min(): a NaN norm gives a NaN factor, as torch.clamp does.
    scale = np.minimum(1.0, max_norm / (np.float64(total) + 1e-6))
    if scale != 1.0:  # a factor of exactly 1 would change nothing
        with np.errstate(invalid="ignore"):   # inf * 0 = nan is intended, as in torch
            for g in grads:
                g *= scale
    return Tensor(np.asarray(total))


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
