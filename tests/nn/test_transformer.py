"""nn.TransformerEncoderLayer/DecoderLayer and the Encoder/Decoder stacks: PyTorch
parity (values and every gradient), gradcheck, dropout placement, independent copies."""
import numpy as np
import pytest

import microattn as ma
from microattn import functional as F
from microattn import nn
from helpers import PARITY_RTOL, assert_close, leaf
from layer_helpers import (as_torch, blocked_mask, causal_blocked, check_layer_gradients,
                           module_parity, padding_mask)

torch = pytest.importorskip("torch")

D_MODEL, NHEAD, FF = 8, 2, 12
B, T_TGT, T_SRC = 2, 3, 4


def randomise(module, rng):
    """Non-zero values everywhere (PyTorch starts biases at 0 and norms at 1, which
    would leave their gradients' effect untested)."""
    for p in module.parameters():
        p.detach().numpy()[...] = rng.standard_normal(p.shape) * 0.5
    return module


def layer_masks(case, rng, q_len, k_len):
    """(our kwargs, PyTorch's kwargs) for one attention inside a layer: attn_mask,
    key_padding_mask and is_causal; PyTorch gets the causal mask spelled out."""
    attn_mask = padding = None
    is_causal = "causal" in case
    if "bool" in case:
        attn_mask = blocked_mask(rng, (q_len, k_len))
    elif "float" in case:
        attn_mask = rng.standard_normal((q_len, k_len))
    if "padding" in case:
        padding = padding_mask(rng, B, k_len)
    torch_mask = attn_mask
    if is_causal:
        causal = causal_blocked(q_len, k_len)
        torch_mask = causal if attn_mask is None else attn_mask | causal
    return (attn_mask, padding, is_causal), (as_torch(torch_mask), as_torch(padding))


LAYER_MASKS = ["none", "bool", "float+padding", "causal+padding"]


def seed_of(case, norm_first, activation):
    return LAYER_MASKS.index(case) * 4 + norm_first * 2 + (activation == "gelu")


def encoder_pair(rng, **kwargs):
    ours = randomise(nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.0, batch_first=True,
                                               **kwargs), rng)
    theirs = torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, dropout=0.0, batch_first=True,
                                              **kwargs)
    return ours, theirs.train()  # train mode keeps PyTorch off its fused fast path


def decoder_pair(rng, **kwargs):
    ours = randomise(nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, dropout=0.0, batch_first=True,
                                               **kwargs), rng)
    theirs = torch.nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, dropout=0.0, batch_first=True,
                                              **kwargs)
    return ours, theirs.train()


# -- one layer vs PyTorch --------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("case", LAYER_MASKS)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch(norm_first, activation, case):
    rng = np.random.default_rng(seed_of(case, norm_first, activation))
    ours, theirs = encoder_pair(rng, activation=activation, norm_first=norm_first)
    (mask, padding, is_causal), (torch_mask, torch_padding) = layer_masks(case, rng, T_SRC, T_SRC)
    assert module_parity(
        ours, theirs,
        lambda src: ours(src, src_mask=mask, src_key_padding_mask=padding, is_causal=is_causal),
        lambda src: theirs(src, src_mask=torch_mask, src_key_padding_mask=torch_padding),
        [rng.standard_normal((B, T_SRC, D_MODEL))]) < PARITY_RTOL


@pytest.mark.filterwarnings("ignore:Support for mismatched")
@pytest.mark.parametrize("case", LAYER_MASKS)
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first, activation, case):
    rng = np.random.default_rng(seed_of(case, norm_first, activation))
    ours, theirs = decoder_pair(rng, activation=activation, norm_first=norm_first)
    (tgt_mask, tgt_padding, tgt_causal), (torch_tgt_mask, torch_tgt_padding) = layer_masks(
        case, rng, T_TGT, T_TGT)
    # The attention over memory gets the same kind of mask but is never causal
    # (a causal mask over memory is tested on its own below).
    (mem_mask, mem_padding, _), (torch_mem_mask, torch_mem_padding) = layer_masks(
        case.replace("causal", ""), rng, T_TGT, T_SRC)
    assert module_parity(
        ours, theirs,
        lambda tgt, memory: ours(tgt, memory, tgt_mask=tgt_mask, memory_mask=mem_mask,
                                 tgt_key_padding_mask=tgt_padding,
                                 memory_key_padding_mask=mem_padding, tgt_is_causal=tgt_causal),
        lambda tgt, memory: theirs(tgt, memory, tgt_mask=torch_tgt_mask,
                                   memory_mask=torch_mem_mask,
                                   tgt_key_padding_mask=torch_tgt_padding,
                                   memory_key_padding_mask=torch_mem_padding),
        [rng.standard_normal((B, T_TGT, D_MODEL)), rng.standard_normal((B, T_SRC, D_MODEL))]
    ) < PARITY_RTOL


def test_decoder_layer_memory_is_causal_matches_torch():
    rng = np.random.default_rng(20)
    ours, theirs = decoder_pair(rng)
    memory_mask = torch.tensor(causal_blocked(T_TGT, T_SRC))
    module_parity(ours, theirs, lambda t, m: ours(t, m, memory_is_causal=True),
                  lambda t, m: theirs(t, m, memory_mask=memory_mask),
                  [rng.standard_normal((B, T_TGT, D_MODEL)),
                   rng.standard_normal((B, T_SRC, D_MODEL))])


@pytest.mark.parametrize("norm_first", [False, True])
def test_layers_without_bias_and_with_a_callable_activation_match_torch(norm_first):
    rng = np.random.default_rng(21)
    ours, theirs = encoder_pair(rng, norm_first=norm_first, bias=False, layer_norm_eps=1e-3)
    ours.activation = nn.GELU(approximate="tanh")
    theirs.activation = torch.nn.GELU(approximate="tanh")
    assert all(p.ndim == 2 or "norm" in n and n.endswith("weight")
               for n, p in ours.named_parameters())
    module_parity(ours, theirs, ours, theirs, [rng.standard_normal((B, T_SRC, D_MODEL))])
    ours, theirs = decoder_pair(rng, norm_first=norm_first, bias=False,
                                activation=lambda x: F.gelu(x) * 2)
    theirs.activation = lambda x: torch.nn.functional.gelu(x) * 2
    module_parity(ours, theirs, ours, theirs, [rng.standard_normal((B, T_TGT, D_MODEL)),
                                               rng.standard_normal((B, T_SRC, D_MODEL))])


@pytest.mark.parametrize("name", ["dropout", "dropout1", "dropout2", "dropout3"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_each_dropout_sits_where_torch_puts_it(norm_first, name):
    """Switch one dropout module fully on (p = 1 drops everything, so no randomness)
    and compare with PyTorch doing the same: the layers agree only if that dropout
    acts at the same point of the computation."""
    rng = np.random.default_rng(22)
    pairs = [decoder_pair(rng, norm_first=norm_first)]
    inputs = [[rng.standard_normal((B, T_TGT, D_MODEL)), rng.standard_normal((B, T_SRC, D_MODEL))]]
    if name != "dropout3":
        pairs.append(encoder_pair(rng, norm_first=norm_first))
        inputs.append(inputs[0][:1])
    for (ours, theirs), arrays in zip(pairs, inputs):
        getattr(ours, name).p = getattr(theirs, name).p = 1.0
        module_parity(ours, theirs, ours, theirs, arrays)
        ours.eval()  # and dropout is off in evaluation
        with ma.no_grad():
            evaluated = ours(*map(leaf, arrays)).detach().numpy()
        getattr(ours, name).p = 0.0
        with ma.no_grad():
            assert_close(evaluated, ours(*map(leaf, arrays)).detach().numpy(),
                         what="eval ignores dropout")


# -- stacks vs PyTorch -------------------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_stack_with_final_norm_matches_torch(norm_first):
    rng = np.random.default_rng(23)
    layer, torch_layer = encoder_pair(rng, norm_first=norm_first, activation="gelu")
    ours = randomise(nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(D_MODEL)), rng)
    theirs = torch.nn.TransformerEncoder(torch_layer, 2, norm=torch.nn.LayerNorm(D_MODEL),
                                         enable_nested_tensor=False).train()
    padding = padding_mask(rng, B, T_SRC)
    module_parity(
        ours, theirs, lambda src: ours(src, src_key_padding_mask=padding, is_causal=True),
        lambda src: theirs(src, mask=torch.tensor(causal_blocked(T_SRC, T_SRC)),
                           src_key_padding_mask=torch.tensor(padding)),
        [rng.standard_normal((B, T_SRC, D_MODEL))])


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_stack_with_final_norm_matches_torch(norm_first):
    rng = np.random.default_rng(24)
    layer, torch_layer = decoder_pair(rng, norm_first=norm_first)
    ours = randomise(nn.TransformerDecoder(layer, 2, norm=nn.LayerNorm(D_MODEL)), rng)
    theirs = torch.nn.TransformerDecoder(torch_layer, 2, norm=torch.nn.LayerNorm(D_MODEL)).train()
    causal = causal_blocked(T_TGT, T_TGT)
    tgt_padding, mem_padding = padding_mask(rng, B, T_TGT), padding_mask(rng, B, T_SRC)
    module_parity(
        ours, theirs,
        lambda tgt, mem: ours(tgt, mem, tgt_mask=causal, tgt_key_padding_mask=tgt_padding,
                              memory_key_padding_mask=mem_padding),
        lambda tgt, mem: theirs(tgt, mem, tgt_mask=torch.tensor(causal), tgt_is_causal=True,
                                tgt_key_padding_mask=torch.tensor(tgt_padding),
                                memory_key_padding_mask=torch.tensor(mem_padding)),
        [rng.standard_normal((B, T_TGT, D_MODEL)), rng.standard_normal((B, T_SRC, D_MODEL))])


# -- gradcheck ---------------------------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_gradcheck(norm_first):
    rng = np.random.default_rng(25)
    layer = randomise(nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True,
                                                activation="gelu",
                                                 norm_first=norm_first), rng)
    padding = np.array([[False, False, True], [True, True, True]])  # batch 1 sees nothing
    check_layer_gradients(
        layer, lambda src: layer(src, src_key_padding_mask=padding, is_causal=True),
        [leaf(rng.standard_normal((2, 3, 4)))])


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_gradcheck(norm_first):
    rng = np.random.default_rng(26)
    layer = randomise(nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, batch_first=True,
                                                norm_first=norm_first), rng)
    tgt_mask = rng.standard_normal((2, 2))
    memory_padding = np.array([[False, True, False], [False, False, True]])
    check_layer_gradients(
        layer, lambda tgt, mem: layer(tgt, mem, tgt_mask=tgt_mask, tgt_is_causal=True,
                                      memory_key_padding_mask=memory_padding),
        [leaf(rng.standard_normal((2, 2, 4))), leaf(rng.standard_normal((2, 3, 4)))])


def test_stacks_gradcheck():
    rng = np.random.default_rng(27)
    encoder = randomise(nn.TransformerEncoder(
        nn.TransformerEncoderLayer(4, 2, 4, dropout=0.0, batch_first=True, norm_first=True), 2,
        norm=nn.LayerNorm(4)), rng)
    decoder = randomise(nn.TransformerDecoder(
        nn.TransformerDecoderLayer(4, 2, 4, dropout=0.0, batch_first=True), 2), rng)
    src, tgt = leaf(rng.standard_normal((2, 3, 4))), leaf(rng.standard_normal((2, 2, 4)))
    check_layer_gradients(encoder, lambda s: encoder(s, is_causal=True), [src])
    memory = encoder(src).detach()
    check_layer_gradients(decoder, lambda t: decoder(t, memory, tgt_is_causal=True), [tgt])


# -- independent copies ------------------------------------------------------------------

@pytest.mark.parametrize("stack, layer", [
    (nn.TransformerEncoder,
     lambda: nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True)),
    (nn.TransformerDecoder,
     lambda: nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, batch_first=True)),
])
def test_stacks_hold_independent_copies(stack, layer):
    rng = np.random.default_rng(28)
    template = layer().double()
    x = leaf(rng.standard_normal((2, 3, 4)))
    args = (x,) if stack is nn.TransformerEncoder else (x, x)
    projection = leaf(rng.standard_normal((2, 3, 4)), requires_grad=False)
    # (a plain sum of a post-norm output is constant: project on random weights instead)
    (template(*args) * projection).sum().backward()  # gives the template grads and graph nodes
    template_grads = {n: np.array(p.grad) for n, p in template.named_parameters()}
    model = stack(template, 3)

    assert len(model.layers) == 3 and all(layer is not template for layer in model.layers)
    names = [n for n, _ in model.named_parameters()]
    assert len(names) == 3 * len(list(template.parameters()))
    assert {n.split(".")[1] for n in names} == {"0", "1", "2"}
    arrays = [p.detach().numpy() for p in model.parameters()] + [p.detach().numpy() for p in template.parameters()]
    assert not any(np.shares_memory(a, b) for i, a in enumerate(arrays) for b in arrays[i + 1:])
    for copy in model.layers:  # copies start equal to the template
        for (_, p), (_, q) in zip(copy.named_parameters(), template.named_parameters()):
            assert np.array_equal(p.detach().numpy(), q.detach().numpy())

    model.zero_grad()
    before = model.layers[1].linear1.weight.detach().numpy().copy()
    model.layers[0].linear1.weight.data += 1.0
    assert np.array_equal(model.layers[1].linear1.weight.detach().numpy(), before)
    (model(*args) * projection).sum().backward()
    for n, p in template.named_parameters():  # gradients land in the copies only
        assert np.array_equal(p.grad, template_grads[n]), n
    grads = [layer.linear1.weight.grad for layer in model.layers]
    assert all(g is not None for g in grads)
    assert not np.allclose(grads[0], grads[1])


@pytest.mark.filterwarnings("ignore:enable_nested_tensor")  # PyTorch's speed hint
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(batch_first, norm_first, rng):
    options = dict(d_model=8, nhead=2, num_encoder_layers=2, num_decoder_layers=1,
                   dim_feedforward=16, dropout=0.0, batch_first=batch_first,
                   norm_first=norm_first)
    ours, theirs = nn.Transformer(**options), torch.nn.Transformer(**options)
    src_shape, tgt_shape = ((2, 5, 8), (2, 4, 8)) if batch_first else ((5, 2, 8), (4, 2, 8))
    mask = nn.Transformer.generate_square_subsequent_mask(4)
    torch_mask = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    np.testing.assert_array_equal(mask.detach().numpy(), torch_mask.numpy())
    module_parity(ours, theirs,
                  lambda s, t: ours(s, t, tgt_mask=mask.double()),
                  lambda s, t: theirs(s, t, tgt_mask=torch_mask),
                  [rng.standard_normal(src_shape), rng.standard_normal(tgt_shape)])


def test_transformer_initialises_matrices_xavier_uniform():
    ma.manual_seed(0)
    model = nn.Transformer(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=32)
    weight = model.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (16 + 32))
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.8 * bound
