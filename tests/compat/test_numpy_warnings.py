"""Silent where PyTorch is: -inf and nan from ops, forwards and backwards print no
numpy RuntimeWarning, and numpy's own warnings outside microattn are untouched."""
import warnings

import numpy as np
import pytest

import microattn as ma
from microattn import nn
from microattn.core.grad_mode import state
from microattn.core.tensor import silenced


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def test_the_log_of_a_triangular_mask_and_zero_over_zero_are_silent():
    mask = ma.log(ma.tril(ma.ones(3, 3)))  # the mask idiom: 0 below, -inf above
    assert np.isneginf(mask.numpy()[0, 1]) and mask.numpy()[1, 0] == 0
    assert np.isnan((ma.zeros(1) / 0).numpy()).all()
    x = ma.zeros(2, requires_grad=True)
    (ma.log(x) * ma.tensor([1.0, 0.0])).sum().backward()  # inf and 0 * inf in backward
    assert np.isinf(x.grad.numpy()[0]) and np.isnan(x.grad.numpy()[1])


def test_a_module_forward_is_silent_and_numpy_outside_still_warns():
    class LogMask(nn.Module):
        def forward(self, x):
            return x + ma.log(ma.tril(ma.ones(x.shape[-1], x.shape[-1])))
    out = LogMask()(ma.zeros(2, 3, 3))
    assert np.isneginf(out.numpy()).sum() == 6
    with pytest.raises(RuntimeWarning, match="divide by zero"):
        np.log(np.zeros(1))  # numpy's state is restored after every call
    assert state.quiet is False


def test_the_switch_is_restored_after_an_error_and_when_nested():
    with pytest.raises(RuntimeError):
        ma.ones(2, 3) @ ma.ones(2, 3)
    assert state.quiet is False
    with silenced():
        with silenced():
            np.log(np.zeros(1))
        np.log(np.zeros(1))  # still silenced: the inner exit left the outer's state
    with pytest.raises(RuntimeWarning):
        np.log(np.zeros(1))
