"""Stochastic gradient descent with momentum, as PyTorch's ``torch.optim.SGD``."""
import numpy as np

from .optimizer import Optimizer, check_nonnegative, check_number


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's momentum, dampening, Nesterov
    momentum and (L2) weight decay. For each parameter p with gradient grad::

        g = -grad if maximize else grad
        g = g + weight_decay * p
        b = g                                    on the first step
        b = momentum * b + (1 - dampening) * g   afterwards
        g = g + momentum * b  if nesterov  else  b          (when momentum != 0)
        p = p - lr * g

    The momentum buffer b is kept in ``state['momentum_buffer']``.
    """

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0,
                 nesterov=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def check_options(self, options):
        check_nonnegative(options, "lr", "momentum", "weight_decay")
        check_number("dampening", options["dampening"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(f"Nesterov momentum requires momentum > 0 and dampening == 0, "
                             f"got momentum={options['momentum']!r}, "
                             f"dampening={options['dampening']!r}")

    def update(self, param, grad, state, group):
        momentum = group["momentum"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param._data
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # A copy: grad may be param.grad itself, which the user may zero.
                buf = state["momentum_buffer"] = np.array(grad, copy=True)
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param._data -= group["lr"] * grad
