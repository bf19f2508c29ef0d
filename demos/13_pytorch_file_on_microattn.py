"""A PyTorch model file run on microattn, then inspected: its graph drawn, its
attention gradchecked.

`demos/torch_model.py` is a small causal transformer written for PyTorch
(`import torch`, `nn.Module`, `nn.Linear`, `register_buffer`, `masked_fill`,
`F.softmax`, `F.cross_entropy`): nothing in it mentions microattn. After
`ma.install_as_torch()`, `import torch` gives microattn, so the file runs
unchanged, and the training loop below is PyTorch code too. The task: a string
of 6 digits, a `|`, and the same digits reversed; the loss is on the reversed
half only. What to look at:
- the printed loss falling, and the share of reversed digits right on 500
  held-out strings: all of them within 100 steps;
- graph.svg: the computation graph of one training step of that PyTorch model,
  drawn by `microattn.viz.draw_graph`: clusters named by the model's own module
  paths (`blocks.0.attn`), the two blocks folded into one box "x 2", every
  parameter named (`blocks.[0-1].attn.qkv.weight`) and coloured by its gradient;
- the gradcheck table: the model's hand-written attention (the file's
  `CausalSelfAttention`), in float64, against central finite differences, with
  respect to its input and to its q/k/v projection's weight and bias;
- loss.png: the training loss.
"""
# %%
import sys
from pathlib import Path

import numpy as np

import microattn as ma

ma.install_as_torch()           # from here on, `import torch` is microattn
import torch  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402

from microattn.gradcheck import gradient_errors  # noqa: E402
from microattn.viz import demo_arguments, draw_graph, running_mean, show  # noqa: E402

args, out = demo_arguments("13_pytorch_file_on_microattn", __doc__, default_steps=200,
                           fast_steps=20)
# torch_model.py sits beside this file (a notebook runs in that folder: no __file__)
sys.path.insert(0, str(Path(globals().get("__file__", "torch_model.py")).resolve().parent))
from torch_model import Config, TinyTransformerLM  # noqa: E402

print(f"import torch gives: {torch.__name__}")
DIGITS, SEP = 10, 10                      # tokens 0-9 are digits, 10 is "|"
LENGTH = 6


def batch(rng, size):
    """x (size, 12) and next-token targets y, -1 (ignored) outside the reversed half."""
    digits = rng.integers(0, DIGITS, size=(size, LENGTH))
    rows = np.concatenate([digits, np.full((size, 1), SEP), digits[:, ::-1]], axis=1)
    x, y = rows[:, :-1], rows[:, 1:].copy()
    y[:, :LENGTH - 1] = -1                # the first digits cannot be predicted
    return (torch.from_numpy(np.ascontiguousarray(x)).long(),
            torch.from_numpy(np.ascontiguousarray(y)).long())

# %% [markdown]
# ## Train it as PyTorch code would

# %%
torch.manual_seed(0)
model = TinyTransformerLM(Config())
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
rng = np.random.default_rng(0)
held_x, held_y = batch(np.random.default_rng(1), 500)
losses = []
for step in range(1, args.steps + 1):
    x, y = batch(rng, 64)
    logits, loss = model(x, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
    if step % max(1, args.steps // 4) == 0:
        with torch.no_grad():
            logits, held_loss = model(held_x, held_y)
        right = (logits.argmax(-1) == held_y).float().sum() / (held_y >= 0).float().sum()
        print(f"step {step:>4}  training loss {loss.item():.3f}  held-out loss "
              f"{held_loss.item():.3f}  reversed digits right {right.item():.3f}")

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.semilogy(np.arange(1, len(losses) + 1), running_mean(losses))
ax.set_xlabel("step")
ax.set_ylabel("training loss")
ax.set_title("a PyTorch model file, trained on microattn")
show(fig, out / "loss.png")

# %% [markdown]
# ## Its graph
# One training step, drawn from the graph microattn recorded while the PyTorch
# code ran; `params=model` names every parameter by its dotted path.

# %%
x, y = batch(rng, 4)
_, loss = model(x, y)
loss.backward()
graph = draw_graph(loss, params=model)
print(f"graph of one step: {graph.full_count} nodes, {graph.node_count} drawn after folding "
      f"the repeated blocks")
show(graph, out / "graph.svg")
model.zero_grad()

# %% [markdown]
# ## Its attention, gradchecked
# The file's `CausalSelfAttention` in float64: its backward against central
# differences, for the input x and the q/k/v projection's weight and bias.

# %%
model.double()
attention = model.blocks[0].attn
x = torch.randn(2, 5, Config().width, dtype=torch.float64, requires_grad=True)
checked = {"x": x, "qkv.weight": attention.qkv.weight, "qkv.bias": attention.qkv.bias}
inputs = list(checked.values())


# gradcheck perturbs each input in place, the parameters included, so the module
# itself is the function: it reads its own (perturbed) qkv weight and bias.
attend = lambda x, weight, bias: attention(x)  # noqa: E731
print(f"gradcheck of CausalSelfAttention: {ma.gradcheck(attend, inputs)}")
print(f"{'input':<12} {'shape':<12} largest |analytic - numeric|")
for i, analytic, numeric in gradient_errors(attend, inputs):
    name = list(checked)[i]
    print(f"{name:<12} {str(tuple(inputs[i].shape)):<12} {np.abs(analytic - numeric).max():.1e}")
