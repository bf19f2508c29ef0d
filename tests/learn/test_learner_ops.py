"""The learner's ops as autograd nodes, swapped into the library's functional entry points
for a block and restored after."""
import numpy as np
import pytest

import microattn as ma
from microattn import functional as F
from microattn.learn import TRAINED_ON, learner_ops
from microattn.learn.learner_ops import allowed_mask
from microattn.models import Seq2SeqTransformer

ENTRY_POINTS = ("softmax", "cross_entropy", "layer_norm", "embedding",
                "scaled_dot_product_attention")


def test_learner_ops_swap_the_functional_entry_points_and_restore_them(solved):
    originals = {name: getattr(F, name) for name in ENTRY_POINTS}
    modules = solved.load_all(TRAINED_ON)
    x = ma.tensor(np.random.default_rng(0).standard_normal((2, 5)), requires_grad=True)
    with pytest.raises(RuntimeError):
        with learner_ops(modules) as ops:
            assert all(getattr(F, name) is not fn for name, fn in originals.items())
            node = F.softmax(x, dim=-1).grad_fn
            assert type(node).__bases__[0].__module__ == "microattn.learn.learner_ops"
            assert ops.softmax.module is modules[4]
            raise RuntimeError("a failed run")
    assert all(getattr(F, name) is fn for name, fn in originals.items())


def _loss_and_grads(model, src, tgt):
    model.zero_grad()
    logits = model(src, tgt[:, :-1])
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt[:, 1:].reshape(-1),
                           ignore_index=0)
    loss.backward()
    return loss.item(), {name: p.grad.numpy().copy() for name, p in model.named_parameters()}


def test_a_transformer_on_the_solved_ops_computes_what_it_does_on_the_librarys(solved):
    ma.manual_seed(0)
    model = Seq2SeqTransformer(7, 7, 8, 2, 1, 1, 16, 0.0, 12, pad_idx=0, norm_first=True)
    model.double()
    rng = np.random.default_rng(0)
    src, tgt = rng.integers(1, 7, size=(3, 5)), rng.integers(1, 7, size=(3, 6))
    src[0, 3:], tgt[1, 4:] = 0, 0   # padding: key-padding masks and ignored targets
    expected_loss, expected = _loss_and_grads(model, src, tgt)
    with learner_ops(solved.load_all(TRAINED_ON)):
        loss, grads = _loss_and_grads(model, src, tgt)
    assert loss == pytest.approx(expected_loss, rel=1e-10)
    for name, grad in expected.items():
        np.testing.assert_allclose(grads[name], grad, rtol=1e-7, atol=1e-10, err_msg=name)


def test_allowed_mask_turns_every_library_mask_into_allowed_positions():
    blocked = np.array([[0.0, -np.inf, 0.0], [0.0, 0.0, -np.inf]])
    np.testing.assert_array_equal(allowed_mask(blocked, False, 2, 3),
                                  [[True, False, True], [True, True, False]])
    np.testing.assert_array_equal(allowed_mask(None, True, 2, 3),
                                  [[True, False, False], [True, True, False]])
    np.testing.assert_array_equal(allowed_mask(ma.tensor(blocked), True, 2, 3),
                                  [[True, False, False], [True, True, False]])
    assert allowed_mask(None, False, 2, 3) is None
    with pytest.raises(ValueError, match="only 0 and -inf"):
        allowed_mask(np.array([[0.0, -1.0]]), False, 1, 2)
