"""PyTorch's packed MultiheadAttention weights, loaded into the readable layout.

``torch.nn.MultiheadAttention`` keeps q, k and v's projections in one
``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,), rows in q, k, v order,
or as ``q_proj_weight``, ``k_proj_weight``, ``v_proj_weight`` when key and
value have other sizes. microattn keeps three Linear layers (``q_proj``,
``k_proj``, ``v_proj``); this load hook splits PyTorch's keys into theirs,
so ``load_state_dict`` (strict too) takes a state_dict in either layout.
"""
import numpy as np

from ..core.tensor import unwrap
from ..nn import MultiheadAttention


def unpack_in_proj(module, state_dict, prefix):
    """Rewrite PyTorch's q/k/v keys under ``prefix`` into ``q_proj.weight``, ...; a
    packed array whose first dim is not a multiple of 3 is left for the shape check."""
    for kind in ("weight", "bias"):
        packed = state_dict.get(f"{prefix}in_proj_{kind}")
        if packed is not None and unwrap(packed).shape[:1] and unwrap(packed).shape[0] % 3 == 0:
            del state_dict[f"{prefix}in_proj_{kind}"]
            for name, part in zip("qkv", np.split(unwrap(packed), 3)):  # (3E, ...) -> 3 (E, ...)
                state_dict[f"{prefix}{name}_proj.{kind}"] = part
    for name in "qkv":
        separate = state_dict.pop(f"{prefix}{name}_proj_weight", None)
        if separate is not None:
            state_dict[f"{prefix}{name}_proj.weight"] = separate


def register():
    MultiheadAttention._load_state_dict_pre_hooks = (unpack_in_proj,)
