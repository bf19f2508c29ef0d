"""Finding a model's attention modules and the kind of attention each computes."""
from typing import NamedTuple

from ..nn import MultiheadAttention


class AttentionModule(NamedTuple):
    """One attention module of a model: its dotted ``name``, its ``kind``
    ("encoder", "decoder" or "cross"), its ``layer`` (its index among the modules of
    its kind) and the ``module`` itself."""
    name: str
    kind: str
    layer: int
    module: MultiheadAttention


def attention_kind(name):
    """The attention kind of a module by its dotted name: ``*.multihead_attn`` is
    "cross", ``encoder.*`` "encoder", any other self-attention "decoder" (a GPT's
    ``blocks.<i>.self_attn`` is a decoder's causal self-attention)."""
    if name.rpartition(".")[2] == "multihead_attn":
        return "cross"
    return "encoder" if name.split(".", 1)[0] == "encoder" else "decoder"


def attention_modules(model, kind=None):
    """Every :class:`AttentionModule` of ``model`` in the order of ``named_modules``,
    or only those of one ``kind``."""
    found, layers = [], {}
    for name, module in model.named_modules():
        if isinstance(module, MultiheadAttention):
            k = attention_kind(name)
            layers[k] = layers.get(k, -1) + 1
            found.append(AttentionModule(name, k, layers[k], module))
    return [m for m in found if kind is None or m.kind == kind]
