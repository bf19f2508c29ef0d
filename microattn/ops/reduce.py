"""Reductions."""


def sum(*args, **kwargs):
    raise NotImplementedError('STUB sum')


def mean(*args, **kwargs):
    raise NotImplementedError('STUB mean')


def var(*args, **kwargs):
    raise NotImplementedError('STUB var')


def max(*args, **kwargs):
    raise NotImplementedError('STUB max')


def min(*args, **kwargs):
    raise NotImplementedError('STUB min')


def amax(*args, **kwargs):
    raise NotImplementedError('STUB amax')


def amin(*args, **kwargs):
    raise NotImplementedError('STUB amin')


def argmax(*args, **kwargs):
    raise NotImplementedError('STUB argmax')


def argmin(*args, **kwargs):
    raise NotImplementedError('STUB argmin')
