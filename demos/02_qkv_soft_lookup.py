"""Q, K, V as a soft database lookup: attention(q) = sum_i softmax(q . k_i) v_i.

A database of six fruits: each key is a one-hot vector naming a fruit, each value the
fruit's colour (R, G, B). What to look at:
- lookup.png, left: the weights each query puts on the keys; right: the colour it gets back.
  A sharp one-hot query retrieves exactly one value; the same query made softer blends
  more and more values, down to the plain average (a grey-brown) for a zero query.
- learned_query.png: a query trained by gradient descent to retrieve a colour that no
  fruit has (teal): backward() moves it to blend lime and blueberry. The printed
  gradient dL/dq at the start says which keys it moves towards (negative: up). Attention
  returns a weighted average of the values, so it gets as close to teal as a blend of
  the six colours can, and no closer.
"""
# %%
import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn import functional as F, optim
from microattn.viz import demo_arguments, plot_matrix, show

args, out = demo_arguments("02_qkv_soft_lookup", __doc__, default_steps=150, fast_steps=40)

# %% [markdown]
# ## The database
# Keys K (6, 6): one-hot rows. Values V (6, 3): colours. A query q (6,) scores every key
# by a dot product, softmax turns the scores into weights, and the answer is the
# weighted average of the values.

# %%
names = ["apple", "orange", "banana", "lime", "blueberry", "plum"]
colours = np.array([[0.85, 0.10, 0.10], [1.00, 0.55, 0.00], [1.00, 0.90, 0.20],
                    [0.45, 0.80, 0.10], [0.15, 0.25, 0.85], [0.50, 0.10, 0.55]])
keys = ma.tensor(np.eye(len(names)))
values = ma.tensor(colours)


def lookup(query):
    """(m, 6) queries -> (retrieved (m, 3), weights (m, 6)); scale 1: raw dot products."""
    return F.scaled_dot_product_attention(query, keys, values, scale=1.0, need_weights=True)


# %% [markdown]
# ## Sharp, soft and in-between queries
# "banana" scaled by a sharpness s: scores are s for banana and 0 elsewhere, so banana's
# weight is e^s / (e^s + 5). At s = 30 that is 1 - 5e-13: exactly one value comes back.

# %%
one_hot = np.eye(len(names))
queries = {"banana, s=30": 30 * one_hot[2], "banana, s=4": 4 * one_hot[2],
           "banana, s=2": 2 * one_hot[2], "banana, s=0.5": 0.5 * one_hot[2],
           "lime + blueberry, s=30": 30 * (one_hot[3] + one_hot[4]),
           "zero query": np.zeros(len(names))}
retrieved, weights = lookup(ma.tensor(np.stack(list(queries.values()))))
for (label, _), w, rgb in zip(queries.items(), weights.numpy(), retrieved.numpy()):
    print(f"{label:24s} weights {np.array2string(w, precision=3, suppress_small=True)}"
          f"  -> colour {np.round(rgb, 3)}")
assert np.allclose(retrieved.detach().numpy()[0], colours[2], atol=1e-9)  # exactly banana's value

fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6), width_ratios=[4, 1])
plot_matrix(left, weights.detach().numpy(), "attention weights softmax(q . k)", xlabels=names,
        ylabels=list(queries), vmax=1)
right.imshow(retrieved.detach().numpy()[:, None, :], aspect="auto")
right.set_xticks([])
right.set_yticks([])
right.set_title("retrieved value", fontsize=10)
show(fig, out / "lookup.png")

# %% [markdown]
# ## Learning a query by backprop
# No fruit is teal. Start from the zero query (uniform weights, the average colour) and
# let SGD move q to make the retrieved colour teal: L = |attention(q) - teal|^2.

# %%
teal = ma.tensor(np.array([[0.10, 0.55, 0.55]]))
query = ma.zeros(1, len(names), dtype="float64", requires_grad=True)
optimizer = optim.SGD([query], lr=5.0)
history, losses = [], []
for step in range(args.steps):
    answer, w = lookup(query)
    loss = F.mse_loss(answer, teal)
    optimizer.zero_grad()
    loss.backward()
    if step == 0:
        print("dL/dq at the zero query:",
              ", ".join(f"{n} {g:+.4f}" for n, g in zip(names, np.asarray(query.grad)[0])))
    optimizer.step()
    history.append((w.detach().numpy()[0], answer.detach().numpy()[0]))
    losses.append(loss.item())
final_w, final_rgb = history[-1]
print(f"after {args.steps} SGD steps: loss {losses[0]:.4f} -> {losses[-1]:.5f}")
print("learned weights:", ", ".join(f"{n} {x:.2f}" for n, x in zip(names, final_w)))
print("retrieved colour:", np.round(final_rgb, 3), " target teal:", teal.detach().numpy()[0])

fig, axes = plt.subplots(1, 4, figsize=(12, 3.6), width_ratios=[4, 0.5, 0.5, 3],
                         layout="constrained")
steps = np.arange(len(history))
plot_matrix(axes[0], np.stack([h[0] for h in history]), "weights while q learns",
        xlabels=names, xlabel="keys", ylabel="SGD step", vmax=1)
axes[1].imshow(np.stack([h[1] for h in history])[:, None, :], aspect="auto")
axes[1].set_xticks([])
axes[1].set_title("retrieved", fontsize=10)
axes[1].set_yticks([])
axes[2].imshow(np.broadcast_to(teal.detach().numpy(), (len(history), 3))[:, None, :], aspect="auto")
axes[2].set_xticks([])
axes[2].set_yticks([])
axes[2].set_title("teal", fontsize=10)
axes[3].plot(steps, losses)
axes[3].set_yscale("log")
axes[3].set_xlabel("SGD step")
axes[3].set_title("loss: mean (retrieved - teal)²", fontsize=10)
show(fig, out / "learned_query.png")
