"""models.Seq2SeqTransformer and models.GPT: shapes, gradients, module paths on the graph,
parameter counts (the formulas of docs/transformer.md), weight sharing, decoding and
sampling, and padding masks."""
import numpy as np
import pytest

import microattn as ma
from microattn import functional as F
from microattn.core.tensor import AccumulateGrad
from microattn.models import GPT, Seq2SeqTransformer
from helpers import assert_close, leaf
import math

V_SRC, V_TGT, D, HEADS, FF, MAX_LEN = 9, 7, 8, 2, 12, 10
PAD, BOS, EOS = 0, 1, 2


def tiny_gpt(**kwargs):
    options = dict(vocab_size=V_TGT, d_model=D, nhead=HEADS, num_layers=2, max_len=MAX_LEN,
                   dim_feedforward=FF)
    return GPT(**{**options, **kwargs})


def tiny_seq2seq(**kwargs):
    options = dict(src_vocab=V_SRC, tgt_vocab=V_TGT, d_model=D, nhead=HEADS,
                   num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=FF, dropout=0.0,
                   max_len=MAX_LEN)
    return Seq2SeqTransformer(**{**options, **kwargs})


def tokens(rng, vocab, shape, low=0):
    return rng.integers(low, vocab, size=shape)


# -- shapes and errors --------------------------------------------------------------------

def test_gpt_logits_shape_and_dtype(rng):
    model = tiny_gpt()
    logits = model(ma.tensor(tokens(rng, V_TGT, (3, 5))))
    assert logits.shape == (3, 5, V_TGT) and logits.dtype == np.float32
    assert model.double()(tokens(rng, V_TGT, (2, MAX_LEN))).dtype == np.float64


def test_seq2seq_shapes(rng):
    model = tiny_seq2seq()
    src, tgt = tokens(rng, V_SRC, (3, 6)), tokens(rng, V_TGT, (3, 4))
    memory = model.encode(src)
    assert memory.shape == (3, 6, D)
    assert model.decode(tgt, memory).shape == (3, 4, V_TGT)
    assert model(src, tgt).shape == (3, 4, V_TGT)


def test_gpt_rejects_sequences_longer_than_max_len(rng):
    with pytest.raises(ValueError, match=f"max_len={MAX_LEN}"):
        tiny_gpt()(tokens(rng, V_TGT, (1, MAX_LEN + 1)))


def test_bad_arguments_are_rejected(rng):
    with pytest.raises(ValueError, match="share_embeddings"):
        tiny_seq2seq(share_embeddings=True)  # V_SRC != V_TGT
    with pytest.raises(ValueError, match="integer token ids"):
        tiny_gpt()(np.zeros((2, 3)))
    model = tiny_gpt()
    with pytest.raises(ValueError, match="temperature"):
        model.generate(tokens(rng, V_TGT, (1, 2)), 1, temperature=-0.5)
    with pytest.raises(ValueError, match="top_k"):
        model.generate(tokens(rng, V_TGT, (1, 2)), 1, top_k=0)
    with pytest.raises(ValueError, match="max_len"):
        tiny_seq2seq().greedy_decode(tokens(rng, V_SRC, (1, 3)), MAX_LEN + 1, BOS, EOS)


def test_gpt_and_the_decoder_cannot_look_ahead(rng):
    """Changing the tokens from position 3 on changes no logits before position 3."""
    gpt, seq2seq = tiny_gpt().double(), tiny_seq2seq().double()
    src = tokens(rng, V_SRC, (2, 5))
    first, second = tokens(rng, V_TGT, (2, 6)), tokens(rng, V_TGT, (2, 6))
    second[:, :3] = first[:, :3]
    for run in (gpt, lambda tgt: seq2seq(src, tgt)):
        a, b = run(first).detach().numpy(), run(second).detach().numpy()
        assert_close(b[:, :3], a[:, :3], rtol=1e-12, what="logits before the change")
        assert not np.allclose(b[:, 3:], a[:, 3:])


# -- gradients ------------------------------------------------------------------------------

def embedding_output(monkeypatch, embedding, x):
    """Make ``embedding`` return the leaf ``x``, so gradcheck can perturb the embedding
    outputs themselves (its lookup would otherwise give fresh rows on every call)."""
    monkeypatch.setattr(embedding, "forward", lambda idx: x)


def test_gpt_gradcheck(rng, monkeypatch):
    model = tiny_gpt(tie_weights=True).double()
    for p in model.parameters():  # GPT-2's small init would make every gradient tiny
        p.detach().numpy()[...] = rng.standard_normal(p.shape) * 0.5
    idx = tokens(rng, V_TGT, (2, 4))
    params = [model.tok_embed.weight,  # also lm_head.weight: the gradient of both uses
              model.pos_embed.weight, model.blocks[0].self_attn.q_proj.weight,
              model.blocks[0].norm1.weight, model.blocks[1].linear1.bias,
              model.blocks[1].self_attn.out_proj.bias, model.ln_f.bias]
    assert ma.gradcheck(lambda *_: model(idx), params)

    x = leaf(rng.standard_normal((2, 4, D)))
    embedding_output(monkeypatch, model.tok_embed, x)
    assert ma.gradcheck(lambda x: model(idx), [x])


@pytest.mark.parametrize("norm_first", [False, True])
def test_seq2seq_gradcheck(rng, monkeypatch, norm_first):
    model = tiny_seq2seq(norm_first=norm_first, pad_idx=PAD).double()
    src = tokens(rng, V_SRC, (2, 5), low=3)
    tgt = tokens(rng, V_TGT, (2, 4), low=3)
    src[0, 3:] = PAD
    tgt[1, 2:] = PAD
    enc, dec = model.encoder.layers, model.decoder.layers
    params = [enc[0].self_attn.k_proj.weight, enc[1].linear2.bias, model.encoder.norm.bias,
              dec[0].norm2.weight, dec[1].multihead_attn.v_proj.bias,
              dec[1].self_attn.q_proj.bias, model.output_proj.weight]
    assert ma.gradcheck(lambda *_: model(src, tgt), params)

    src_x, tgt_x = leaf(rng.standard_normal((2, 5, D))), leaf(rng.standard_normal((2, 4, D)))
    embedding_output(monkeypatch, model.src_embed, src_x)
    embedding_output(monkeypatch, model.tgt_embed, tgt_x)
    assert ma.gradcheck(lambda *_: model(src, tgt), [src_x, tgt_x])


# -- module paths on the graph ----------------------------------------------------------------

def module_paths(output):
    """The module path of every node in the graph below ``output`` (iteratively)."""
    paths, seen, stack = set(), set(), [output.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if not isinstance(node, AccumulateGrad):
            paths.add(node.module_path)
        stack.extend(parent for parent, _ in node.next_functions)
    return paths


def check_module_paths(model, output):
    """Every path on the graph names a module of ``model`` ("" is the model's own ops);
    every module with no children shows up as a path, and every other module as a
    prefix of one."""
    modules = dict(model.named_modules())
    paths = module_paths(output)
    assert paths <= set(modules), paths - set(modules)
    for name, module in modules.items():
        if not name:
            continue
        if not any(True for _ in module.children()):
            assert name in paths, f"no graph node recorded under leaf module {name}"
        assert any(p == name or p.startswith(name + ".") for p in paths), name
    return paths


def test_gpt_graph_nodes_carry_module_paths(rng):
    # Dropout > 0 in training mode, so that the Dropout modules run an op too.
    model = tiny_gpt(dropout=0.1).train()
    paths = check_module_paths(model, model(tokens(rng, V_TGT, (2, 5))))
    assert {"tok_embed", "pos_embed", "drop", "blocks.0.self_attn", "blocks.0.self_attn.q_proj",
            "blocks.1.linear2", "blocks.1.norm2", "ln_f", "lm_head"} <= paths


def test_seq2seq_graph_nodes_carry_module_paths(rng):
    model = tiny_seq2seq(dropout=0.1).train()
    paths = check_module_paths(model, model(tokens(rng, V_SRC, (2, 5)),
                                            tokens(rng, V_TGT, (2, 4))))
    assert {"encoder.layers.1.self_attn.v_proj", "decoder.layers.0.multihead_attn",
            "decoder.norm", "positional.dropout", "output_proj"} <= paths


# -- parameter counts (the formulas of docs/transformer.md) -----------------------------------

def encoder_layer_count(d, f):
    return 4 * d * d + 2 * d * f + 9 * d + f


def decoder_layer_count(d, f):
    return 8 * d * d + 2 * d * f + 15 * d + f


def seq2seq_count(vs, vt, d, le, ld, f, shared):
    embeddings = vs * d if shared else (vs + vt) * d
    return (embeddings + le * encoder_layer_count(d, f) + 2 * d
            + ld * decoder_layer_count(d, f) + 2 * d + d * vt + vt)


def gpt_count(v, d, layers, max_len, f, tied):
    return v * d + max_len * d + layers * encoder_layer_count(d, f) + 2 * d + (0 if tied else v * d)


@pytest.mark.parametrize("vs, vt, d, le, ld, f, shared", [
    (9, 7, 8, 2, 2, 12, False), (11, 11, 16, 1, 3, 64, True), (5, 13, 4, 3, 1, 4, False)])
def test_seq2seq_num_parameters_matches_the_formula(vs, vt, d, le, ld, f, shared):
    model = Seq2SeqTransformer(vs, vt, d, 2, le, ld, f, 0.0, MAX_LEN, share_embeddings=shared)
    assert model.num_parameters() == seq2seq_count(vs, vt, d, le, ld, f, shared)


@pytest.mark.parametrize("v, d, layers, max_len, f, tied", [
    (7, 8, 2, 10, 12, False), (50, 16, 3, 32, None, True), (5, 4, 1, 3, 6, True)])
def test_gpt_num_parameters_matches_the_formula(v, d, layers, max_len, f, tied):
    model = GPT(v, d, 2, layers, max_len, dim_feedforward=f, tie_weights=tied)
    assert model.num_parameters() == gpt_count(v, d, layers, max_len, f or 4 * d, tied)


# -- shared parameters --------------------------------------------------------------------------

def test_gpt_weight_tying_shares_one_parameter_and_sums_its_gradients(rng):
    tied = tiny_gpt(tie_weights=True).double()
    assert tied.lm_head.weight is tied.tok_embed.weight
    names = [name for name, _ in tied.named_parameters()]
    assert "tok_embed.weight" in names and "lm_head.weight" not in names
    assert len(list(tied.parameters())) == len(list(tiny_gpt().parameters())) - 1

    untied = tiny_gpt().double()
    untied.load_state_dict(tied.state_dict())  # lm_head.weight <- the shared table
    idx, target = tokens(rng, V_TGT, (2, 5)), tokens(rng, V_TGT, (2, 5))
    for model in (tied, untied):
        F.cross_entropy(model(idx).reshape(-1, V_TGT), target.reshape(-1)).backward()
    assert_close(tied.tok_embed.weight.grad,
                 untied.tok_embed.weight.grad + untied.lm_head.weight.grad, what="tied grad")


def test_seq2seq_shared_embeddings_use_one_table(rng):
    model = tiny_seq2seq(src_vocab=V_TGT, share_embeddings=True).double()
    assert model.tgt_embed is None
    src, tgt = tokens(rng, V_TGT, (2, 5)), tokens(rng, V_TGT, (2, 3))
    model(src, tgt).sum().backward()
    # Both sides looked rows up in the one table: its gradient has rows from each.
    grad_rows = set(np.flatnonzero(np.abs(model.src_embed.weight.grad).sum(1)))
    assert set(src.ravel()) | set(tgt.ravel()) == grad_rows


# -- decoding and sampling ----------------------------------------------------------------------

def test_greedy_decode_picks_the_argmax_of_forward_and_repeats(rng):
    ma.manual_seed(3)
    model = tiny_seq2seq().double().eval()
    src = tokens(rng, V_SRC, (3, 6), low=3)
    out = model.greedy_decode(src, 6, BOS, EOS)
    assert out.dtype == np.int64 and out.shape[0] == 3 and out.shape[1] <= 6
    assert np.all(out.detach().numpy()[:, 0] == BOS)
    assert np.array_equal(model.greedy_decode(src, 6, BOS, EOS).detach().numpy(),
                          out.detach().numpy())
    # Teacher-forcing the decoded prefix gives back the decoded tokens (until eos).
    logits = model(src, out.detach().numpy()[:, :-1]).detach().numpy()
    predicted = logits.argmax(-1)
    generated = out.detach().numpy()[:, 1:]
    before_eos = np.cumsum(generated == EOS, axis=1) - (generated == EOS) == 0
    assert np.array_equal(predicted[before_eos], generated[before_eos])


def test_greedy_decode_stops_when_every_row_has_emitted_eos(rng, monkeypatch):
    """Rows finish at different steps (scripted logits): finished rows are padded with
    pad_idx and decoding stops as soon as the last row emits eos."""
    model = tiny_seq2seq(pad_idx=PAD)
    script = np.array([[5, EOS, 4, 4], [6, 3, EOS, 4]])  # token chosen at steps 1..4

    def scripted_decode(tgt, memory, **masks):
        step = tgt.shape[1] - 1
        logits = np.zeros((2, tgt.shape[1], V_TGT))
        logits[np.arange(2), -1, script[:, step]] = 1.0
        return ma.tensor(logits)

    monkeypatch.setattr(model, "decode", scripted_decode)
    out = model.greedy_decode(tokens(rng, V_SRC, (2, 4)), MAX_LEN, BOS, EOS)
    assert out.detach().numpy().tolist() == [[BOS, 5, EOS, PAD], [BOS, 6, 3, EOS]]
    assert model.greedy_decode(tokens(rng, V_SRC, (2, 4)), 3, BOS,
                               EOS).detach().numpy().tolist() == [
        [BOS, 5, EOS], [BOS, 6, 3]]  # cut at max_len before row 1 finished


def test_generate_is_reproducible_under_manual_seed(rng):
    model = tiny_gpt().eval()
    idx = tokens(rng, V_TGT, (2, 3))
    samples = []
    for seed in (7, 7, 8):
        ma.manual_seed(seed)
        samples.append(model.generate(idx, 12, temperature=1.5).detach().numpy())
    assert samples[0].shape == (2, 15) and samples[0].dtype == np.int64
    assert np.array_equal(samples[0][:, :3], idx)
    assert np.array_equal(samples[0], samples[1])
    assert not np.array_equal(samples[0], samples[2])


def greedy_by_hand(model, idx, steps):
    """Greedy continuation computed from forward() directly, cropping to max_len."""
    idx = np.array(idx)
    for _ in range(steps):
        logits = model(idx[:, -model.max_len:]).detach().numpy()[:, -1]
        idx = np.concatenate([idx, logits.argmax(-1)[:, None]], axis=1)
    return idx


def test_generate_greedy_top_k_one_and_context_cropping(rng):
    model = tiny_gpt().double().eval()
    for p in model.parameters():  # larger weights than GPT-2's init: sharper, varied logits
        p.detach().numpy()[...] = rng.standard_normal(p.shape)
    idx = tokens(rng, V_TGT, (3, 4))
    steps = MAX_LEN + 3  # runs past max_len: the context must be cropped
    expected = greedy_by_hand(model, idx, steps)
    assert np.array_equal(model.generate(idx, steps, temperature=0).detach().numpy(), expected)
    ma.manual_seed(0)
    assert np.array_equal(model.generate(idx, steps, top_k=1).detach().numpy(), expected)


def test_generate_samples_only_from_the_top_k(rng):
    model = tiny_gpt().double().eval()
    for p in model.parameters():
        p.detach().numpy()[...] = rng.standard_normal(p.shape)
    idx = np.repeat(tokens(rng, V_TGT, (1, 3)), 200, axis=0)  # 200 draws from one context
    ma.manual_seed(1)
    drawn = model.generate(idx, 1, temperature=5.0, top_k=2).detach().numpy()[:, -1]
    top2 = np.argsort(model(idx[:1]).detach().numpy()[0, -1])[-2:]
    assert set(drawn) == set(top2)


# -- padding masks --------------------------------------------------------------------------------

@pytest.mark.parametrize("norm_first", [False, True])
def test_padding_does_not_change_the_real_positions(rng, norm_first):
    """A pair padded inside a batch gives, at its real target positions, the logits it
    gives alone, whatever tokens fill the padding (masks from pad_idx)."""
    model = tiny_seq2seq(pad_idx=PAD, norm_first=norm_first).double()
    src_long, tgt_long = tokens(rng, V_SRC, (1, 6), low=3), tokens(rng, V_TGT, (1, 5), low=3)
    src_short, tgt_short = tokens(rng, V_SRC, (1, 3), low=3), tokens(rng, V_TGT, (1, 2), low=3)
    alone = model(src_short, tgt_short).detach().numpy()
    src = np.concatenate([src_long, np.pad(src_short, ((0, 0), (0, 3)), constant_values=PAD)])
    tgt = np.concatenate([tgt_long, np.pad(tgt_short, ((0, 0), (0, 3)), constant_values=PAD)])
    batched = model(src, tgt).detach().numpy()
    assert_close(batched[1, :2], alone[0], rtol=1e-12, what="padded row")
    assert_close(batched[0], model(src_long, tgt_long).detach().numpy()[0], rtol=1e-12,
                 what="full row")


def test_explicit_padding_masks_hide_whatever_the_padding_holds(rng):
    model = tiny_seq2seq().double()  # no pad_idx: the masks say where padding is
    src, tgt = tokens(rng, V_SRC, (2, 6)), tokens(rng, V_TGT, (2, 5))
    src_mask = np.zeros((2, 6), dtype=bool)
    src_mask[1, 4:] = True
    tgt_mask = np.zeros((2, 5), dtype=bool)
    tgt_mask[0, 3:] = True
    before = model(src, tgt, src_mask, tgt_mask).detach().numpy()
    src[src_mask] = tokens(rng, V_SRC, (int(src_mask.sum()),))
    tgt[tgt_mask] = tokens(rng, V_TGT, (int(tgt_mask.sum()),))
    after = model(src, tgt, src_mask, tgt_mask).detach().numpy()
    assert_close(after[~tgt_mask], before[~tgt_mask], rtol=1e-12, what="unpadded logits")
    assert not np.allclose(model(src, tgt).detach().numpy()[1], after[1])  # without masks they would differ


GOOD = dict(vocab_size=11, d_model=8, nhead=2, num_layers=1, max_len=6)


@pytest.fixture(scope="module")
def gpt():
    ma.manual_seed(0)
    return GPT(**GOOD).eval()


@pytest.mark.parametrize("name,value,error", [
    ("num_layers", 0, ValueError),
    ("num_layers", -1, ValueError),
    ("d_model", 0, ValueError),
    ("nhead", 0, ValueError),
    ("vocab_size", 0, ValueError),
    ("max_len", 0, ValueError),
    ("dim_feedforward", 0, ValueError),
    ("num_layers", 2.5, TypeError),
    ("d_model", "8", TypeError),
    ("max_len", None, TypeError),
    ("nhead", True, TypeError),
])
def test_gpt_bad_sizes_name_the_argument(name, value, error):
    with pytest.raises(error, match=f"GPT: {name} should be a positive int"):
        GPT(**{**GOOD, name: value})


def test_gpt_d_model_must_divide_into_heads():
    with pytest.raises(ValueError, match="d_model=8 should be divisible by nhead=3"):
        GPT(**{**GOOD, "nhead": 3})


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(max_new_tokens=-1), ValueError, "max_new_tokens should be >= 0, got -1"),
    (dict(max_new_tokens=2.5), TypeError, "max_new_tokens should be an int"),
    (dict(max_new_tokens=3, temperature=math.nan), ValueError, "temperature.*got nan"),
    (dict(max_new_tokens=3, temperature=math.inf), ValueError, "temperature.*got inf"),
    (dict(max_new_tokens=3, temperature=-0.5), ValueError, "temperature"),
    (dict(max_new_tokens=3, temperature="1"), TypeError, "temperature should be a number"),
    (dict(max_new_tokens=3, top_k=2.5), TypeError, "top_k should be an int"),
    (dict(max_new_tokens=3, top_k=0), ValueError, "top_k should be >= 1"),
])
def test_generate_refuses_bad_arguments(gpt, kwargs, error, match):
    with pytest.raises(error, match=match):
        gpt.generate(np.zeros((2, 3), dtype=np.int64), **kwargs)


def test_generate_refuses_an_empty_prompt(gpt):
    with pytest.raises(ValueError, match=r"shape \(2, 0\), with no tokens"):
        gpt.generate(np.zeros((2, 0), dtype=np.int64), max_new_tokens=3)


def test_generate_with_no_new_tokens_returns_the_prompt(gpt):
    prompt = np.array([[1, 2, 3]])
    out = gpt.generate(prompt, max_new_tokens=0)
    np.testing.assert_array_equal(out.detach().numpy(), prompt)
    out = gpt.generate(prompt, max_new_tokens=np.int64(2), temperature=np.float32(0.5),
                       top_k=np.int64(3))
    assert out.shape == (1, 5)
