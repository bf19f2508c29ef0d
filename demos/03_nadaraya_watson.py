"""Nadaraya-Watson attention pooling: f(x) = sum_i softmax_i(-((x - x_i) w)^2 / 2) y_i.

The oldest attention: a query x (where we want a prediction) attends to the keys x_i
(the training inputs) and pools their values y_i. Data: y = 2 sin x + x^0.8 + noise,
50 training points. What to look at:
- the printed kernel width: w = 1 (the plain Gaussian kernel), then w learned by SGD
  through our engine on a leave-one-out loss (each training point predicted from the
  others, so w cannot cheat by attending to the point itself);
- attention_before_after.png: the weights (test inputs x training inputs), a broad band
  for w = 1 that narrows to the diagonal once w is learned;
- fit.png: the truth, the noisy samples and both fits; loss.png: the loss curve, and the
  leave-one-out loss as a function of w with SGD's path down to its minimum, each step
  taken along dL/dw from backward().
"""
# %%
import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn import functional as F, optim
from microattn.viz import demo_arguments, plot_matrix, show

args, out = demo_arguments("03_nadaraya_watson", __doc__, default_steps=200, fast_steps=30)

# %% [markdown]
# ## Data, as in d2l: 50 noisy training points, 50 test points on a grid

# %%
rng = np.random.default_rng(0)
truth = lambda x: 2 * np.sin(x) + x ** 0.8
x_train = np.sort(rng.uniform(0, 5, 50))
y_train = truth(x_train) + rng.normal(0, 0.5, 50)
x_test = np.arange(0, 5, 0.1)
keys, values = ma.tensor(x_train), ma.tensor(y_train)

# %% [markdown]
# ## Attention pooling with a kernel width w
# The score of query x against key x_i is -((x - x_i) w)^2 / 2; softmax over i makes the
# weights; the prediction is their average of the y_i. `leave_one_out` blocks the
# diagonal (query i = key i), so a training point never sees its own y.

# %%
def pool(queries, w, leave_one_out=False):
    """queries (m,), w a 1-element tensor -> (predictions (m,), weights (m, 50))."""
    distance = ma.tensor(queries)[:, None] - keys[None, :]        # (m, 50)
    scores = -((distance * w) ** 2) / 2
    if leave_one_out:
        scores = scores.masked_fill(ma.tensor(np.eye(len(queries), dtype=bool)), -np.inf)
    weights = scores.softmax(dim=-1)
    return (weights * values).sum(-1), weights


def test_error(w):
    with ma.no_grad():
        prediction, weights = pool(x_test, w)
    prediction, weights = prediction.numpy(), weights.numpy()  # made under no_grad
    return float(np.mean((prediction - truth(x_test)) ** 2)), prediction, weights


w = ma.tensor([1.0], dtype="float64", requires_grad=True)
mse_before, fit_before, weights_before = test_error(w)
print(f"Gaussian kernel, w = 1: test MSE against the truth {mse_before:.4f}")

# %% [markdown]
# ## Learn w by SGD, through backward()

# %%
optimizer = optim.SGD([w], lr=2.0)
path = []
for step in range(args.steps):
    prediction, _ = pool(x_train, w, leave_one_out=True)
    loss = F.mse_loss(prediction, ma.tensor(y_train))
    optimizer.zero_grad()
    loss.backward()
    grad = float(np.asarray(w.grad)[0])
    path.append((w.item(), loss.item(), grad))
    if step % max(1, args.steps // 5) == 0:
        print(f"step {step:4d}  w {w.item():6.3f}  leave-one-out loss {loss.item():.4f}"
              f"  dL/dw {grad:+.5f}")
    optimizer.step()
mse_after, fit_after, weights_after = test_error(w)
print(f"learned w = {w.item():.3f}: test MSE against the truth {mse_after:.4f} "
      f"(was {mse_before:.4f} with w = 1)")
print(f"noise variance of the samples: 0.25; a perfect fit would score 0")

# %% [markdown]
# ## Pictures

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for ax, weights, title in ((axes[0], weights_before, "w = 1 (Gaussian kernel)"),
                           (axes[1], weights_after, f"learned w = {w.item():.2f}")):
    plot_matrix(ax, weights, title, xlabel="training inputs (sorted by x)",
            ylabel="test inputs (x = 0, 0.1, ..., 4.9)", colorbar=ax is axes[1])
show(fig, out / "attention_before_after.png")

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(x_test, truth(x_test), "k", label="truth 2 sin x + x^0.8")
ax.plot(x_train, y_train, "o", color="grey", ms=3, alpha=0.6, label="training samples")
ax.plot(x_test, fit_before, label=f"w = 1, test MSE {mse_before:.3f}")
ax.plot(x_test, fit_after, label=f"learned w = {w.item():.2f}, test MSE {mse_after:.3f}")
ax.set_xlabel("x")
ax.legend(fontsize=8)
ax.set_title("Nadaraya-Watson attention pooling")
show(fig, out / "fit.png")

grid = np.geomspace(0.3, 30, 120)
with ma.no_grad():
    landscape = [F.mse_loss(pool(x_train, ma.tensor([g]), leave_one_out=True)[0],
                            ma.tensor(y_train)).item() for g in grid]
ws, losses, _ = zip(*path)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
left.plot(losses)
left.set_xlabel("SGD step")
left.set_ylabel("leave-one-out MSE")
left.set_title("training loss", fontsize=10)
right.plot(grid, landscape, "k", lw=1, label="loss as a function of w")
right.plot(ws, losses, ".-", color="C1", ms=4, label="SGD's steps")
right.set_xscale("log")
right.set_xlabel("w (larger w: narrower kernel)")
right.set_title("where backward() took w", fontsize=10)
right.legend(fontsize=8)
show(fig, out / "loss.png")
