"""Elementwise ops: arithmetic, pow, exp/log, activations, where, masked_fill, casts.

Backwards may return gradients in the broadcast output shape: the engine sums
them back to each input's shape, so broadcasting needs no code here.
"""
import numpy as np

from ..autograd import Function


class Add(Function):
    """z = a + b.   dL/da = g,  dL/db = g"""

    def forward(ctx, a, b):
        return a + b

    def backward(ctx, g):
        return g, g


class Mul(Function):
    """z = a * b.   dL/da = g * b,  dL/db = g * a"""

    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    def backward(ctx, g):
        a, b = ctx.saved_tensors
        da, db = ctx.needs_input_grad
        return (g * b if da else None), (g * a if db else None)


def add(a, b):
    return Add.apply(a, b)


def mul(a, b):
    return Mul.apply(a, b)


def sub(*args, **kwargs):
    raise NotImplementedError('STUB sub')


def div(*args, **kwargs):
    raise NotImplementedError('STUB div')


def neg(*args, **kwargs):
    raise NotImplementedError('STUB neg')


def pow(*args, **kwargs):
    raise NotImplementedError('STUB pow')


def exp(*args, **kwargs):
    raise NotImplementedError('STUB exp')


def log(*args, **kwargs):
    raise NotImplementedError('STUB log')


def sqrt(*args, **kwargs):
    raise NotImplementedError('STUB sqrt')


def tanh(*args, **kwargs):
    raise NotImplementedError('STUB tanh')


def sigmoid(*args, **kwargs):
    raise NotImplementedError('STUB sigmoid')


def relu(*args, **kwargs):
    raise NotImplementedError('STUB relu')


def gelu(*args, **kwargs):
    raise NotImplementedError('STUB gelu')


def abs(*args, **kwargs):
    raise NotImplementedError('STUB abs')


def where(*args, **kwargs):
    raise NotImplementedError('STUB where')


def masked_fill(*args, **kwargs):
    raise NotImplementedError('STUB masked_fill')


def double(*args, **kwargs):
    raise NotImplementedError('STUB double')


def float(*args, **kwargs):
    raise NotImplementedError('STUB float')


def eq(*args, **kwargs):
    raise NotImplementedError('STUB eq')


def ne(*args, **kwargs):
    raise NotImplementedError('STUB ne')


def lt(*args, **kwargs):
    raise NotImplementedError('STUB lt')


def le(*args, **kwargs):
    raise NotImplementedError('STUB le')


def gt(*args, **kwargs):
    raise NotImplementedError('STUB gt')


def ge(*args, **kwargs):
    raise NotImplementedError('STUB ge')
