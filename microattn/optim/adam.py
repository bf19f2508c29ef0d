"""Adam and AdamW, as PyTorch's ``torch.optim.Adam`` and ``torch.optim.AdamW``."""
import math

import numpy as np

from .optimizer import Optimizer, check_nonnegative, check_number


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with PyTorch's update rule. For each parameter p
    with gradient grad, at step t = 1, 2, ...::

        g = -grad if maximize else grad
        g = g + weight_decay * p                    Adam: L2 penalty, in the gradient
        p = p * (1 - lr * weight_decay)             AdamW: decoupled decay, on p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                       amsgrad: use v_max for v below
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    State: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with
    amsgrad, ``max_exp_avg_sq`` (v_max).
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def check_options(self, options):
        check_nonnegative(options, "lr", "eps", "weight_decay")
        betas = options["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"Invalid betas: expected a pair (beta1, beta2), got "
                            f"{type(betas).__name__} {betas!r}")
        for i, beta in enumerate(betas):
            check_number(f"beta{i + 1}", beta)
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Invalid betas: {betas!r} (expected two numbers in [0, 1))")
        options["betas"] = tuple(betas)

    def update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        lr, weight_decay = group["lr"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param._data)
            state["exp_avg_sq"] = np.zeros_like(param._data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param._data)
        state["step"] += 1
        step, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]

        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param._data *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param._data
        # m = beta1 * m + (1 - beta1) * g, written as a step towards g (as torch's lerp).
        m += (1 - beta1) * (grad - m)
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = lr / (1 - beta1 ** step)
        denom = np.sqrt(v) / math.sqrt(1 - beta2 ** step) + group["eps"]
        param._data -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019): the decay
    shrinks p directly, ``p = p * (1 - lr * weight_decay)``, instead of
    entering the moment estimates. See :class:`Adam` for the full rule."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
