"""Trained weights under the parameter names of the equivalent ``torch.nn`` model,
written in the safetensors format for PyTorch users.

Our models use PyTorch's names already (``encoder.layers.0.linear1.weight``...)
but for one difference: ``nn.MultiheadAttention`` here keeps three projections,
``q_proj``, ``k_proj``, ``v_proj``, where ``torch.nn.MultiheadAttention`` packs
them into ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,), rows in q, k, v
order. The sinusoidal positional table is recomputed, not stored (PyTorch users
rebuild it the same way), so it is not exported.
"""
import json

import numpy as np

from ..files import write_atomic
from ..nn import MultiheadAttention


def torch_state_dict(model):
    """``{torch.nn name: float ndarray}`` of the model's parameters and persistent buffers."""
    out = {name: np.ascontiguousarray(t._data) for name, t in model.state_dict().items()}
    for prefix, module in model.named_modules():
        if not isinstance(module, MultiheadAttention):
            continue
        p = f"{prefix}." if prefix else ""
        weights = [out.pop(f"{p}{n}_proj.weight") for n in "qkv"]
        if module.kdim == module.vdim == module.embed_dim:
            out[f"{p}in_proj_weight"] = np.concatenate(weights)
        else:
            out.update({f"{p}{n}_proj_weight": w for n, w in zip("qkv", weights)})
        if f"{p}q_proj.bias" in out:
            out[f"{p}in_proj_bias"] = np.concatenate([out.pop(f"{p}{n}_proj.bias") for n in "qkv"])
    return out


def export_safetensors(model, path, metadata=None):
    """Write the model's weights to ``path`` (safetensors, torch.nn names), atomically.
    ``metadata``: str -> JSON-able values stored in the file's header."""
    from safetensors.numpy import save

    tensors = {name: np.array(array, copy=True) for name, array in torch_state_dict(model).items()}
    header = {"format": "pt"}
    header.update({k: v if isinstance(v, str) else json.dumps(v)
                   for k, v in (metadata or {}).items()})
    # Made in memory, then written with Python's checked writes: a full disk raises
    # (OSError) and leaves no file, where writing from safetensors' own code was not checked.
    return write_atomic(path, save(tensors, metadata=header))
