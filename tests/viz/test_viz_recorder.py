"""What the recorder keeps: dL/dS, the gradient the pre-softmax scores receive, is
the engine's (retained from backward), equal to PyTorch autograd's on the same
attention and to the softmax identity dL/dS = A * (dL/dA - rowsum(A * dL/dA))."""
import math

import numpy as np
import pytest

import microattn as ma
from microattn import nn
from microattn.data import load_task
from microattn.models import attention_modules
from microattn.train import Config, build_model
from microattn.viz.recorder import capture_attention

torch = pytest.importorskip("torch")


def softmax_identity(weights, grads):
    """dL/dS from A and dL/dA by the softmax rule, along the last axis."""
    return weights * (grads - (weights * grads).sum(-1, keepdims=True))


def torch_scores_grad(module, x, padding, upstream):
    """dL/dS of ``module``'s attention, by PyTorch autograd on the same weights:
    S = Q K^T / sqrt(d) + mask, L = sum(upstream * MHA(x))."""
    def weight(linear):  # the same numbers, leaves of PyTorch's graph
        return (torch.tensor(linear.weight.detach().numpy(), requires_grad=True),
                torch.tensor(linear.bias.detach().numpy(), requires_grad=True))
    heads, d = module.num_heads, module.head_dim
    xt = torch.tensor(x)
    batch, length, _ = xt.shape

    def project(linear):  # (B, T, E) -> (B, heads, T, d)
        w, b = weight(linear)
        return (xt @ w.T + b).reshape(batch, length, heads, d).transpose(1, 2)
    q, k, v = project(module.q_proj), project(module.k_proj), project(module.v_proj)
    causal = torch.triu(torch.ones(length, length, dtype=torch.bool), 1)
    blocked = causal | torch.tensor(padding)[:, None, None, :]    # (B, 1, T, T)
    scores = q @ k.transpose(-2, -1) / math.sqrt(d) + torch.where(blocked, -math.inf, 0.0)
    scores.retain_grad()
    heads_out = torch.softmax(scores, -1) @ v                      # (B, heads, T, d)
    w, b = weight(module.out_proj)
    out = heads_out.transpose(1, 2).reshape(batch, length, -1) @ w.T + b
    (out * torch.tensor(upstream)).sum().backward()
    return scores.grad.numpy(), scores.detach().numpy()


def test_score_gradient_is_the_engines_and_matches_pytorch():
    ma.manual_seed(0)
    rng = np.random.default_rng(0)
    module = nn.MultiheadAttention(16, 4, batch_first=True).double()
    x = rng.normal(size=(2, 5, 16))
    padding = np.zeros((2, 5), bool)
    padding[1, 3:] = True  # the second row has two padding keys
    upstream = rng.normal(size=(2, 5, 16))
    module.capture_graph = True
    out, _ = module(ma.tensor(x), ma.tensor(x), ma.tensor(x), is_causal=True,
                    key_padding_mask=ma.tensor(padding),
                    attn_mask=ma.tensor(np.triu(np.ones((5, 5), bool), 1)))
    module.last_attn_scores.retain_grad()
    module.last_attn_weights.retain_grad()
    (out * ma.tensor(upstream)).sum().backward()
    expected_grad, expected_scores = torch_scores_grad(module, x, padding, upstream)
    scores = module.last_attn_scores.detach().numpy()
    np.testing.assert_array_equal(np.isneginf(scores), np.isneginf(expected_scores))
    finite = np.isfinite(expected_scores)
    np.testing.assert_allclose(scores[finite], expected_scores[finite], rtol=1e-10, atol=1e-12)
    got = module.last_attn_scores.grad.numpy()
    np.testing.assert_allclose(got, expected_grad, rtol=1e-9, atol=1e-12)
    weights, grads = module.last_attn_weights.detach().numpy(), module.last_attn_weights.grad.numpy()
    np.testing.assert_allclose(got, softmax_identity(weights, grads), rtol=1e-9, atol=1e-12)
    assert (got[~finite] == 0).all()


def test_capture_keeps_score_gradients_that_obey_the_softmax_identity():
    ma.manual_seed(3)
    task = load_task("reverse")
    model = build_model(task, Config.for_task(task, d_model=16, heads=2, layers=2, ff=32))
    captured = capture_attention(model, task, task.held_out[0])
    assert set(captured["score_grads"]) == {"encoder", "decoder", "cross"}
    for kind, weights in captured["weights"].items():
        score_grads, grads = captured["score_grads"][kind], captured["grads"][kind]
        assert score_grads.shape == weights.shape and np.abs(score_grads).max() > 0
        scale = np.abs(score_grads).max()
        np.testing.assert_allclose(score_grads, softmax_identity(weights, grads),
                                   atol=1e-4 * scale, err_msg=kind)
        # Adding one number to a row of dL/dA leaves dL/dS as it was: only the
        # deviation from the row's A-weighted mean moves a score.
        np.testing.assert_allclose(softmax_identity(weights, grads + 0.37), score_grads,
                                   atol=1e-4 * scale)
        assert (np.abs(score_grads.sum(-1)) <= 1e-5 * scale + 1e-9).all()  # rows sum to 0
    masked = np.isneginf(captured["scores"]["decoder"])
    upper = np.triu(np.ones(masked.shape[-2:], bool), 1)
    assert masked[..., upper].all() and not masked[..., ~upper].any()
    assert (captured["score_grads"]["decoder"][masked] == 0).all()
    for *_, module in attention_modules(model):
        assert module.last_attn_scores.grad_fn is None  # detached again afterwards
