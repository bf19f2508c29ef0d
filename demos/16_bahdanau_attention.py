"""Bahdanau attention: d2l's GRU encoder-decoder with additive attention, on a toy translation.

Before Transformers, attention entered translation this way (Bahdanau, Cho and Bengio,
2015; d2l.ai chapter 11.4): a GRU reads the source; at each target step the decoder's
last hidden state is the query of an additive attention over every encoder state
(score(q, k) = v^T tanh(W_q q + W_k k), padding masked), and the context it returns is
fed to the decoder GRU beside the previous target word. The toy language puts
adjectives after nouns ("the big dog sees a red car" -> "le chien grand voit un
voiture rouge"), so word-by-word order is not enough and the alignment crosses.
What to look at:
- attention.png: d2l's model as written translating a held-out sentence: the weights
  over the source words at each target word (outlined: the word it translates). The
  decoder starts from the encoder's final state, which on sentences this short holds
  the whole source, so attention is a helper: diffuse, often a word late;
- attention_zero_state.png: the same model with the decoder starting from zeros:
  everything it knows of the source comes through attention, and the weights mostly
  follow the alignment, crossing at the noun/adjective pairs (near the sentence's end
  some weight sits on a neighbour or on <eos>);
- loss.png: both training losses (cross-entropy per target word).
The printed lines give each model's held-out exact match and its mean weight on the
aligned source word.
"""
# %%
import time

import numpy as np
from matplotlib.figure import Figure

import microattn as ma
from microattn import functional as F
from microattn import nn, optim
from microattn.viz import demo_arguments, plot_attention, show

args, out = demo_arguments("16_bahdanau_attention", __doc__, default_steps=200, fast_steps=30)
ma.manual_seed(0)
rng = np.random.default_rng(0)

# %% [markdown]
# ## The toy translation
# A sentence is `DET [ADJ] NOUN VERB DET [ADJ] NOUN`; its translation maps every word
# and puts each adjective after its noun. `ALIGN` keeps, for each target word, the
# source word it translates (the alignment the attention should find).

# %%
LEXICON = {"the": "le", "a": "un", "dog": "chien", "cat": "chat", "car": "voiture",
           "bird": "oiseau", "house": "maison", "big": "grand", "red": "rouge",
           "small": "petit", "old": "vieux", "sees": "voit", "likes": "aime", "takes": "prend"}
DETS, NOUNS = ["the", "a"], ["dog", "cat", "car", "bird", "house"]
ADJS, VERBS = ["big", "red", "small", "old"], ["sees", "likes", "takes"]
PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SRC_VOCAB = [PAD, EOS] + sorted(LEXICON)
TGT_VOCAB = [PAD, BOS, EOS] + sorted(set(LEXICON.values()))
SRC_ID = {w: i for i, w in enumerate(SRC_VOCAB)}
TGT_ID = {w: i for i, w in enumerate(TGT_VOCAB)}


def noun_phrase():
    words = [str(rng.choice(DETS))]
    if rng.random() < 0.6:
        words.append(str(rng.choice(ADJS)))
    return words + [str(rng.choice(NOUNS))]


def translate(source):
    """The reference translation and, per target word, the index of its source word."""
    target, align, i = [], [], 0
    while i < len(source):
        if source[i] in ADJS:  # ADJ NOUN -> NOUN ADJ
            target += [LEXICON[source[i + 1]], LEXICON[source[i]]]
            align += [i + 1, i]
            i += 2
        else:
            target.append(LEXICON[source[i]])
            align.append(i)
            i += 1
    return target, align


def sentence():
    return noun_phrase() + [str(rng.choice(VERBS))] + noun_phrase()


NUM_STEPS = 8  # the longest sentence and its <eos>: as d2l, every source is padded to it


def batch(sentences):
    """Source ids (B, NUM_STEPS) ending in <eos>, valid lengths (B,), decoder input
    (B, T) starting with <bos>, and the target (B, T) ending in <eos>, padded with
    <pad>. The encoder runs over the padding too (only attention masks it), so
    sources are always padded to one length, in training and in translation alike."""
    src = [[SRC_ID[w] for w in s] + [SRC_ID[EOS]] for s in sentences]
    tgt = [[TGT_ID[w] for w in translate(s)[0]] + [TGT_ID[EOS]] for s in sentences]
    S, T = NUM_STEPS, max(map(len, tgt))
    pad = lambda rows, n: np.array([r + [0] * (n - len(r)) for r in rows])  # noqa: E731
    dec_in = [[TGT_ID[BOS]] + r[:-1] for r in tgt]
    return (ma.tensor(pad(src, S)), np.array([len(r) for r in src]), ma.tensor(pad(dec_in, T)),
            ma.tensor(pad(tgt, T)))


print("example:", " ".join(s := sentence()), "->", " ".join(translate(s)[0]))

# %% [markdown]
# ## d2l's model: a GRU encoder, and a GRU decoder that attends
# Written as d2l writes it (time-major GRUs; the decoder loops over target steps
# because each step's query is the hidden state the previous step left).

# %%
class Seq2SeqEncoder(nn.Module):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size, num_hiddens, num_layers)

    def forward(self, X):
        """X (B, S) -> outputs (S, B, H) and the final state (layers, B, H)."""
        embs = self.embedding(X.t())           # (S, B, E)
        outputs, state = self.rnn(embs)
        return outputs, state


class Seq2SeqAttentionDecoder(nn.Module):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers):
        super().__init__()
        self.attention = nn.AdditiveAttention(num_hiddens, num_hiddens, num_hiddens)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def forward(self, X, enc_outputs, hidden_state, enc_valid_lens):
        """X (B, T) -> logits (B, T, V); the attention weights of each step are kept."""
        enc_outputs = enc_outputs.transpose(0, 1)                  # (B, S, H): the keys
        padding = np.arange(enc_outputs.shape[1])[None, :] >= enc_valid_lens[:, None]
        outputs, self.attention_weights = [], []
        for x in self.embedding(X.t()):                            # x: (B, E), step by step
            query = hidden_state[-1].unsqueeze(1)                  # (B, 1, H)
            context, weights = self.attention(query, enc_outputs, enc_outputs,
                                              key_padding_mask=padding)  # (B, 1, H)
            x = ma.cat([context, x.unsqueeze(1)], dim=-1)          # (B, 1, H + E)
            out, hidden_state = self.rnn(x.transpose(0, 1), hidden_state)  # (1, B, H)
            outputs.append(out)
            self.attention_weights.append(weights.detach())
        outputs = self.dense(ma.cat(outputs, dim=0))               # (T, B, V)
        return outputs.transpose(0, 1), hidden_state               # (B, T, V)


class EncoderDecoder(nn.Module):
    """d2l's EncoderDecoder; ``pass_state=False`` starts the decoder from zeros instead
    of the encoder's final state, so all it knows of the source comes through attention."""

    def __init__(self, encoder, decoder, pass_state=True):
        super().__init__()
        self.encoder, self.decoder, self.pass_state = encoder, decoder, pass_state

    def init_state(self, src):
        enc_outputs, state = self.encoder(src)
        return enc_outputs, (state if self.pass_state else ma.zeros_like(state))

    def forward(self, src, valid_lens, dec_in):
        enc_outputs, state = self.init_state(src)
        return self.decoder(dec_in, enc_outputs, state, valid_lens)[0]


def make_model(pass_state):
    return EncoderDecoder(Seq2SeqEncoder(len(SRC_VOCAB), 32, 64, 2),
                          Seq2SeqAttentionDecoder(len(TGT_VOCAB), 32, 64, 2), pass_state)


# %% [markdown]
# ## Training: teacher forcing, cross-entropy over the target words (padding ignored)
# Two models: d2l's as written (the decoder starts from the encoder's final state),
# and the same with the decoder starting from zeros.

# %%
def train(model):
    optimizer = optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.0)
    losses, start = [], time.perf_counter()
    for step in range(args.steps):
        src, valid, dec_in, tgt = batch([sentence() for _ in range(64)])
        logits = model(src, valid, dec_in)                      # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, len(TGT_VOCAB)), tgt.reshape(-1),
                               ignore_index=TGT_ID[PAD])
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step:4d}  loss {loss.item():.3f}")
    print(f"{args.steps} steps in {time.perf_counter() - start:.1f} s")
    return losses


models, losses = {}, {}
for name, pass_state in (("d2l (decoder starts from the encoder's state)", True),
                         ("decoder starts from zeros", False)):
    print(f"--- {name}")
    ma.manual_seed(0)
    models[name] = make_model(pass_state)
    losses[name] = train(models[name])
print(f"{models[name].num_parameters():,} parameters each")

# %% [markdown]
# ## Greedy translation of held-out sentences, and where the decoder looked

# %%
def greedy(model, source, max_len=12):
    """Translate one sentence word by word; returns the words and the weights (T, S)."""
    src, valid, _, _ = batch([source])
    with ma.no_grad():
        enc_outputs, state = model.init_state(src)
        words, weights, token = [], [], TGT_ID[BOS]
        for _ in range(max_len):
            logits, state = model.decoder(ma.tensor([[token]]), enc_outputs, state, valid)
            token = int(logits[0, -1].argmax())
            weights.append(model.decoder.attention_weights[0].numpy()[0, 0])  # (S,)
            if token == TGT_ID[EOS]:
                break
            words.append(TGT_VOCAB[token])
    return words, np.array(weights)


def draw(source, words, weights, title):
    """The weights over the source (and its <eos>), aligned words outlined."""
    expected = np.zeros((len(words) + 1, len(source) + 1), dtype=bool)
    for i, a in enumerate(translate(source)[1][:len(words)]):
        expected[i, a] = True
    expected[len(words), len(source)] = True
    return plot_attention(weights[:len(words) + 1, :len(source) + 1],
                          query_labels=words + [EOS], key_labels=source + [EOS],
                          expected=expected, title=title)


held_out = [sentence() for _ in range(200)]
shown = next(s for s in held_out if s[1] in ADJS and s[-2] in ADJS)  # two crossings
for (name, model), file in zip(models.items(), ("attention.png", "attention_zero_state.png")):
    results = [(s, *greedy(model, s)) for s in held_out]
    right = [(s, w) for s, words, w in results if words == translate(s)[0]]
    on_aligned = np.mean([w[i, a] for s, w in right for i, a in enumerate(translate(s)[1])]
                         or [0.0])
    print(f"{name}: held-out exact match {len(right) / len(held_out):.1%}, "
          f"mean weight on the aligned source word: {on_aligned:.2f}")
    fig = draw(shown, *greedy(model, shown), f"{name}\n(outlined: the aligned source words)")
    show(fig, out / file)

# %%
fig = Figure(figsize=(6, 3.2), dpi=110, layout="constrained")
ax = fig.add_subplot()
for name, curve in losses.items():
    ax.plot(curve, label=name)
ax.set_yscale("log")
ax.set_xlabel("AdamW step")
ax.set_ylabel("cross-entropy per word")
ax.set_title("GRU encoder-decoder with additive attention", fontsize=10)
ax.legend(fontsize=8)
show(fig, out / "loss.png")
