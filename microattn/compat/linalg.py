"""einsum (with its backward), and the matrix products PyTorch names
separately: bmm, mm, mv, dot, outer."""
import string

import numpy as np

from ..core import Function
from ..ops.linalg import Matmul


def _parse(equation, shapes):
    """``equation`` as (input subscripts, output subscripts), with '...' spelled out
    as letters no operand uses, and the implicit output (sorted letters used
    once) made explicit."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    inputs = inputs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: the equation names {len(inputs)} operands, "
                         f"got {len(shapes)}")
    spare = [c for c in string.ascii_letters if c not in equation]
    widest = max((len(s) - len(i.replace("...", "")) for i, s in zip(inputs, shapes)
                  if "..." in i), default=0)
    ellipsis = "".join(spare[:widest])
    spelled = []
    for subs, shape in zip(inputs, shapes):
        if "..." in subs:
            n = len(shape) - len(subs.replace("...", ""))
            subs = subs.replace("...", ellipsis[widest - n:])
        if len(subs) != len(shape):
            raise ValueError(f"einsum: subscripts '{subs}' do not fit an operand of shape "
                             f"{tuple(shape)}")
        spelled.append(subs)
    if arrow:
        output = output.replace("...", ellipsis)
    else:
        letters = "".join(spelled)
        output = ellipsis + "".join(sorted(c for c in set(letters)
                                           if letters.count(c) == 1 and c not in ellipsis))
    return spelled, output


class Einsum(Function):
    """z = einsum(equation, *operands): sums of products over the letters the output
    does not name.
    dL/d(operand i) = einsum of g with the other operands, to operand i's letters;
    letters only operand i has (summed away in z) are broadcast back, since each
    of its entries there received the same gradient."""

    promote = ()

    def forward(ctx, equation, *operands):
        inputs, output = _parse(equation, [o.shape for o in operands])
        for subs in inputs:
            if len(set(subs)) != len(subs):
                raise ValueError(f"einsum: a letter repeated within one operand ('{subs}', "
                                 "a diagonal) is not supported")
        ctx.inputs, ctx.output = inputs, output
        ctx.save_for_backward(*operands)
        ctx.shapes = [o.shape for o in operands]
        return np.asarray(np.einsum(",".join(inputs) + "->" + output, *operands))

    def backward(ctx, g):
        operands = ctx.saved_tensors
        grads = [None]
        for i, (subs, shape) in enumerate(zip(ctx.inputs, ctx.shapes)):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            others = [s for j, s in enumerate(ctx.inputs) if j != i]
            known = set(ctx.output).union(*others)
            target = "".join(c for c in subs if c in known)
            spec = ",".join([ctx.output, *others]) + "->" + target
            grad = np.einsum(spec, g, *[o for j, o in enumerate(operands) if j != i])
            # letters summed away that only this operand had: broadcast back
            expanded = grad.reshape([shape[k] if c in known else 1
                                     for k, c in enumerate(subs)])
            grads.append(np.broadcast_to(expanded, shape))
        return tuple(grads)


def einsum(equation, *operands):
    """Einstein summation, as torch.einsum: ``einsum("bij,bjk->bik", a, b)``;
    operands may also come as one list."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return Einsum.apply(equation, *operands)


def _check_ndim(op, a, b, na, nb):
    if a.ndim != na or b.ndim != nb:
        raise RuntimeError(f"{op}: expected {na}-D and {nb}-D operands, got shapes "
                           f"{tuple(a.shape)} and {tuple(b.shape)}")


def bmm(a, b):
    """Batched matrix product of (B, n, m) and (B, m, p)."""
    _check_ndim("bmm", a, b, 3, 3)
    return Matmul.apply(a, b)


def mm(a, b):
    _check_ndim("mm", a, b, 2, 2)
    return Matmul.apply(a, b)


def mv(a, b):
    _check_ndim("mv", a, b, 2, 1)
    return Matmul.apply(a, b)


def dot(a, b):
    _check_ndim("dot", a, b, 1, 1)
    return Matmul.apply(a, b)


def outer(a, b):
    _check_ndim("outer", a, b, 1, 1)
    return a.reshape(-1, 1) * b.reshape(1, -1)


LINALG_METHODS = {"bmm": bmm, "mm": mm, "mv": mv, "dot": dot, "outer": outer}
