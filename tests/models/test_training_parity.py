"""Training parity: a GPT and a Seq2SeqTransformer, in float64 without dropout, trained
for 30 AdamW steps side by side with the same models written from torch.nn pieces,
give the same loss at every step (to 1e-8 relative) and end with the same weights.

The PyTorch models here are also what benchmarks/bench_train.py times against."""
import math

import numpy as np
import pytest

import microattn as ma
from microattn import functional as F
from microattn import optim
from microattn.models import GPT, Seq2SeqTransformer
from layer_helpers import to_torch_names

torch = pytest.importorskip("torch")
tnn = torch.nn

STEPS = 30
LOSS_RTOL = 1e-8
# Adam's step m / (sqrt(v) + eps) is about lr whatever the gradient's size, so on a
# weight whose gradients are ~0 it turns rounding noise into steps: weights agree
# to ~1e-10 absolute, a little less closely than the losses.
WEIGHT_RTOL, WEIGHT_ATOL = 1e-8, 1e-9
D_MODEL, NHEAD, LAYERS, FF, MAX_LEN = 16, 2, 2, 32, 12
PAD = 0


def causal_blocked(length):
    """PyTorch's boolean causal mask: True above the diagonal, where attention is NOT allowed."""
    return torch.ones(length, length, dtype=torch.bool).triu(1)


class TorchGPT(tnn.Module):
    """microattn.models.GPT from torch.nn pieces, with the same parameter names."""

    def __init__(self, vocab_size, d_model, nhead, num_layers, max_len, dim_feedforward,
                 tie_weights=False):
        super().__init__()
        self.tok_embed = tnn.Embedding(vocab_size, d_model)
        self.pos_embed = tnn.Embedding(max_len, d_model)
        self.blocks = tnn.ModuleList([
            tnn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0.0,
                                        activation="gelu", batch_first=True, norm_first=True)
            for _ in range(num_layers)])
        self.ln_f = tnn.LayerNorm(d_model)
        self.lm_head = tnn.Linear(d_model, vocab_size, bias=False)
        if tie_weights:
            self.lm_head.weight = self.tok_embed.weight

    def forward(self, idx):
        length = idx.shape[1]
        x = self.tok_embed(idx) + self.pos_embed.weight[:length]
        mask = causal_blocked(length)
        for block in self.blocks:
            x = block(x, src_mask=mask, is_causal=True)
        return self.lm_head(self.ln_f(x))


def sinusoids(max_len, d_model):
    """The positional encoding of "Attention Is All You Need", written again in torch."""
    position = torch.arange(max_len, dtype=torch.float64)[:, None]
    rate = torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)
    pe = torch.zeros(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * rate)
    pe[:, 1::2] = torch.cos(position * rate)
    return pe


class TorchSeq2Seq(tnn.Module):
    """microattn.models.Seq2SeqTransformer from torch.nn pieces, same parameter names."""

    def __init__(self, src_vocab, tgt_vocab, d_model, nhead, num_layers, dim_feedforward,
                 max_len, pad_idx, norm_first):
        super().__init__()
        self.d_model = d_model
        self.src_embed = tnn.Embedding(src_vocab, d_model, padding_idx=pad_idx)
        self.tgt_embed = tnn.Embedding(tgt_vocab, d_model, padding_idx=pad_idx)
        self.register_buffer("pe", sinusoids(max_len, d_model), persistent=False)
        layer = dict(dim_feedforward=dim_feedforward, dropout=0.0, batch_first=True,
                     norm_first=norm_first)
        self.encoder = tnn.TransformerEncoder(
            tnn.TransformerEncoderLayer(d_model, nhead, **layer), num_layers,
            norm=tnn.LayerNorm(d_model), enable_nested_tensor=False)
        self.decoder = tnn.TransformerDecoder(
            tnn.TransformerDecoderLayer(d_model, nhead, **layer), num_layers,
            norm=tnn.LayerNorm(d_model))
        self.output_proj = tnn.Linear(d_model, tgt_vocab)

    def embed(self, embedding, tokens):
        return embedding(tokens) * math.sqrt(self.d_model) + self.pe[:tokens.shape[1]]

    def forward(self, src, tgt):
        src_padding, tgt_padding = src == PAD, tgt == PAD
        memory = self.encoder(self.embed(self.src_embed, src), src_key_padding_mask=src_padding)
        hidden = self.decoder(self.embed(self.tgt_embed, tgt), memory,
                              tgt_mask=causal_blocked(tgt.shape[1]),
                              tgt_key_padding_mask=tgt_padding,
                              memory_key_padding_mask=src_padding, tgt_is_causal=True)
        return self.output_proj(hidden)


def torch_state(model):
    """Our model's weights as a state dict for its PyTorch twin (q/k/v packed)."""
    arrays = {name: t.detach().numpy() for name, t in model.state_dict().items()}
    return {name: torch.from_numpy(np.array(a)) for name, a in
            to_torch_names(model, arrays).items()}


def gpt_batches(rng, vocab, batch, length):
    """(input, target) pairs of next-token prediction on sequences that count up
    (mod vocab) from a random start, so there is something to learn."""
    for _ in range(STEPS):
        seq = (rng.integers(0, vocab, size=(batch, 1)) + np.arange(length + 1)) % vocab
        yield seq[:, :-1], seq[:, 1:]


def seq2seq_batches(rng, vocab, batch, max_len):
    """Reverse the source: (src, tgt_in, tgt_out), right-padded with PAD to random lengths;
    tokens 1 and 2 are bos and eos."""
    for _ in range(STEPS):
        lengths = rng.integers(2, max_len - 2, size=batch)
        src = np.full((batch, max_len - 2), PAD)
        tgt = np.full((batch, max_len - 1), PAD)
        for row, n in enumerate(lengths):
            src[row, :n] = rng.integers(3, vocab, size=n)
            tgt[row, :n + 2] = [1, *src[row, :n][::-1], 2]
        yield src, tgt[:, :-1], tgt[:, 1:]


def train_side_by_side(model, twin, batches, lr=1e-2):
    """Train both with AdamW on the same batches; return the per-step losses of each."""
    ours = optim.AdamW(model.parameters(), lr=lr)
    theirs = torch.optim.AdamW(twin.parameters(), lr=lr)
    twin.train()
    ours_losses, their_losses = [], []
    for *inputs, target in batches:
        ours.zero_grad()
        logits = model(*inputs)  # (B, T, V) -> (B * T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                               ignore_index=PAD)
        loss.backward()
        ours.step()
        ours_losses.append(loss.item())

        theirs.zero_grad()
        logits = twin(*(torch.from_numpy(a) for a in inputs))
        their_loss = tnn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                  torch.from_numpy(target).reshape(-1),
                                                  ignore_index=PAD)
        their_loss.backward()
        theirs.step()
        their_losses.append(their_loss.item())
    return np.array(ours_losses), np.array(their_losses)


def check_parity(model, twin, batches):
    ours, theirs = train_side_by_side(model, twin, batches)
    relative = np.abs(ours - theirs) / np.abs(theirs)
    assert relative.max() <= LOSS_RTOL, f"loss differs at step {relative.argmax()}: {relative}"
    assert ours[-5:].mean() < 0.9 * ours[0], f"the model did not learn: {ours}"
    expected = twin.state_dict()
    for name, value in torch_state(model).items():
        np.testing.assert_allclose(value.numpy(), expected[name].numpy(), rtol=WEIGHT_RTOL,
                                   atol=WEIGHT_ATOL, err_msg=name)
    return relative.max()


@pytest.fixture(autouse=True)
def float64_by_default():
    """Build the models in float64 rather than converting them: a table computed at
    construction (the sinusoids) would otherwise be rounded to float32 first."""
    ma.set_default_dtype(np.float64)
    yield
    ma.set_default_dtype(np.float32)


@pytest.mark.parametrize("tie_weights", [False, True])
def test_gpt_trains_like_torch(tie_weights):
    ma.manual_seed(0)
    vocab = 16
    model = GPT(vocab, D_MODEL, NHEAD, LAYERS, MAX_LEN, FF, tie_weights=tie_weights)
    twin = TorchGPT(vocab, D_MODEL, NHEAD, LAYERS, MAX_LEN, FF, tie_weights).double()
    twin.load_state_dict(torch_state(model), strict=True)
    check_parity(model, twin, gpt_batches(np.random.default_rng(1), vocab, 4, MAX_LEN))


@pytest.mark.parametrize("norm_first", [False, True])
def test_seq2seq_trains_like_torch(norm_first):
    ma.manual_seed(0)
    vocab = 12
    model = Seq2SeqTransformer(vocab, vocab, D_MODEL, NHEAD, LAYERS, LAYERS, FF, 0.0, MAX_LEN,
                               pad_idx=PAD, norm_first=norm_first)
    twin = TorchSeq2Seq(vocab, vocab, D_MODEL, NHEAD, LAYERS, FF, MAX_LEN, PAD,
                        norm_first).double()
    twin.load_state_dict(torch_state(model), strict=True)
    check_parity(model, twin, seq2seq_batches(np.random.default_rng(2), vocab, 4, MAX_LEN))
