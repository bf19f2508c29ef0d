"""Helpers shared by the layer and model tests: PyTorch twins of our layers.

Copies weights across (packing q/k/v projections as torch.nn.MultiheadAttention
does), compares values and every gradient, and makes masks in the
torch.nn.MultiheadAttention convention (True = not allowed).
"""
import numpy as np
import pytest

import microattn as ma
from microattn import nn
from helpers import assert_close, leaf

torch = pytest.importorskip("torch")


def to_torch_names(module, arrays):
    """``{our parameter name: array}`` -> the same arrays under PyTorch's names: every
    MultiheadAttention's q/k/v projections packed into ``in_proj_weight`` and
    ``in_proj_bias`` (or ``q_proj_weight``, ... when kdim/vdim differ, as PyTorch)."""
    out = dict(arrays)
    for prefix, sub in module.named_modules():
        if not isinstance(sub, nn.MultiheadAttention):
            continue
        p = f"{prefix}." if prefix else ""
        weights = [out.pop(f"{p}{n}_proj.weight") for n in "qkv"]
        if sub.kdim == sub.vdim == sub.embed_dim:
            out[f"{p}in_proj_weight"] = np.concatenate(weights)
        else:
            out.update({f"{p}{n}_proj_weight": w for n, w in zip("qkv", weights)})
        if f"{p}q_proj.bias" in out:
            out[f"{p}in_proj_bias"] = np.concatenate([out.pop(f"{p}{n}_proj.bias")
                                                      for n in "qkv"])
    return out


def relative_error(actual, expected):
    """max |actual - expected| / max |expected|: the error relative to the array's scale."""
    scale = max(float(np.max(np.abs(expected), initial=0)), 1e-300)
    return float(np.max(np.abs(np.asarray(actual) - np.asarray(expected)), initial=0)) / scale


def module_parity(ma_module, torch_module, ma_call, torch_call, arrays, seed=0):
    """Copy ``ma_module``'s parameters into ``torch_module``, run both calls on float64
    copies of ``arrays`` and compare, to PARITY_RTOL, every output they return and the
    gradients of a random projection of the first output with respect to every input
    and every parameter. Returns the largest relative error seen."""
    ma_module.double()
    torch_module.double()
    params = {name: p.detach().numpy() for name, p in ma_module.named_parameters()}
    torch_module.load_state_dict({k: torch.tensor(v) for k, v in
                                  to_torch_names(ma_module, params).items()}, strict=True)
    ma_inputs = [leaf(a) for a in arrays]
    torch_inputs = [torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
                    for a in arrays]
    outputs, expected = ma_call(*ma_inputs), torch_call(*torch_inputs)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    expected = expected if isinstance(expected, tuple) else (expected,)
    worst = 0.0
    for i, (out, exp) in enumerate(zip(outputs, expected, strict=True)):
        assert_close(out.detach().numpy(), exp.detach().numpy(), what=f"output {i}")
        worst = max(worst, relative_error(out.detach().numpy(), exp.detach().numpy()))

    weights = np.random.default_rng(seed).standard_normal(outputs[0].shape)
    outputs[0].backward(weights)
    expected[0].backward(torch.tensor(weights))
    grads = {name: (p.grad if p.grad is not None else np.zeros(p.shape))
             for name, p in ma_module.named_parameters()}
    pairs = [(f"input {i}", m.grad, t.grad) for i, (m, t) in
             enumerate(zip(ma_inputs, torch_inputs))]
    torch_params = dict(torch_module.named_parameters())
    pairs += [(f"parameter {name}", g, torch_params[name].grad)
              for name, g in to_torch_names(ma_module, grads).items()]
    for what, actual, exp in pairs:
        exp = np.zeros(actual.shape) if exp is None else exp.numpy()
        actual = np.zeros(exp.shape) if actual is None else actual
        assert_close(actual, exp, what=f"gradient of {what}")
        worst = max(worst, relative_error(actual, exp))
    return worst


def check_layer_gradients(layer, fn, inputs):
    """gradcheck ``fn(*inputs)`` with respect to the inputs that require grad and to
    every parameter of ``layer`` (finite differences perturb the parameters in place)."""
    params = list(layer.double().parameters())
    assert ma.gradcheck(lambda *args: fn(*args[:len(inputs)]), [*inputs, *params])


# -- masks in the torch.nn.MultiheadAttention convention (True = not allowed) ------------

def blocked_mask(rng, shape):
    """Random boolean mask (True = blocked) that leaves key 0 free in every row, so no
    row is fully masked (PyTorch gives nan there), also after adding causal or padding."""
    mask = rng.random(shape) < 0.4
    mask[..., 0] = False
    return mask


def padding_mask(rng, batch, k_len):
    mask = rng.random((batch, k_len)) < 0.4
    mask[:, 0] = False
    return mask


def causal_blocked(q_len, k_len):
    """PyTorch's causal mask, top-left aligned: True above the diagonal."""
    return np.triu(np.ones((q_len, k_len), dtype=bool), 1)


MASK_CASES = ["none", "bool", "float", "bool3d", "float3d", "padding", "float_padding",
              "bool+padding", "float+padding", "causal", "causal+padding", "causal+bool"]


def make_masks(case, rng, batch, heads, q_len, k_len):
    """(attn_mask, key_padding_mask, is_causal) for ``case`` (parts joined by '+'), and
    the attn_mask that gives PyTorch the same attention: its is_causal is only a hint
    that needs the causal mask given as well."""
    attn_mask = padding = None
    is_causal = False
    for part in case.split("+"):
        shape = (batch * heads, q_len, k_len) if part.endswith("3d") else (q_len, k_len)
        if part in ("bool", "bool3d"):
            attn_mask = blocked_mask(rng, shape)
        elif part in ("float", "float3d"):
            attn_mask = rng.standard_normal(shape)
        elif part == "padding":
            padding = padding_mask(rng, batch, k_len)
        elif part == "float_padding":
            padding = np.where(padding_mask(rng, batch, k_len), -np.inf,
                               rng.standard_normal((batch, k_len)))
        elif part == "causal":
            is_causal = True
        else:
            assert part == "none", part
    torch_mask = attn_mask
    if is_causal:
        causal = causal_blocked(q_len, k_len)
        torch_mask = (causal if attn_mask is None else attn_mask | causal
                      if attn_mask.dtype == bool else np.where(causal, -np.inf, attn_mask))
    return attn_mask, padding, is_causal, torch_mask


def as_torch(mask):
    return None if mask is None else torch.tensor(mask)
