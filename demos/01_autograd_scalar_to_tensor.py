"""Autograd from a scalar to a tensor: one gradient worked by hand, then by backward().

What to look at:
- the printed hand-derived derivative and the one backward() fills into x.grad: equal;
- the tensor case: dL/dW = x^T ((1 - y^2) * dL/dy) by hand against W.grad;
- gradcheck: backward against central finite differences, and a deliberately wrong
  backward that gradcheck catches;
- the graph printed as text, walked from loss.grad_fn through next_functions, and
  graph.svg: the same graph drawn by microattn.viz.draw_graph;
- derivative.png: f(x) and its derivative at 200 points, from ONE backward() call.
"""
# %%
import matplotlib.pyplot as plt
import numpy as np

import microattn as ma
from microattn.viz import demo_arguments, draw_graph, show

args, out = demo_arguments("01_autograd_scalar_to_tensor", __doc__, default_steps=200,
                           fast_steps=50)

# %% [markdown]
# ## 1. A scalar, by hand and by backward()
# f(x) = x^2 exp(-x^2 / 4). By the product and chain rules
# f'(x) = 2x exp(-x^2 / 4) + x^2 exp(-x^2 / 4) (-x / 2) = exp(-x^2 / 4) (2x - x^3 / 2).

# %%
x = ma.tensor(1.5, dtype="float64", requires_grad=True)
f = x * x * (-x * x / 4).exp()
f.backward()
by_hand = np.exp(-1.5 ** 2 / 4) * (2 * 1.5 - 1.5 ** 3 / 2)
print(f"f(1.5) = {f.item():.6f}")
print(f"f'(1.5) by hand     = {by_hand:.12f}")
print(f"f'(1.5) by backward = {float(np.asarray(x.grad)):.12f}")
assert abs(float(np.asarray(x.grad)) - by_hand) < 1e-12

# %% [markdown]
# ## 2. The same rule on tensors
# y = tanh(x W + b), L = sum(y * c) for a fixed c. The chain rule, one matrix at a time:
# dL/dy = c, dL/dz = (1 - y^2) * c (z = x W + b), dL/dW = x^T dL/dz, dL/db = sum over rows
# of dL/dz, dL/dx = dL/dz W^T.

# %%
rng = np.random.default_rng(0)
xs = ma.tensor(rng.standard_normal((4, 3)), requires_grad=True)
W = ma.tensor(rng.standard_normal((3, 2)), requires_grad=True)
b = ma.tensor(rng.standard_normal(2), requires_grad=True)
c = rng.standard_normal((4, 2))
y = (xs @ W + b).tanh()
loss = (y * ma.tensor(c)).sum()
loss.backward()

dz = (1 - y.detach().numpy() ** 2) * c
hand = {"W": xs.detach().numpy().T @ dz, "b": dz.sum(0), "x": dz @ W.detach().numpy().T}
for name, t in (("W", W), ("b", b), ("x", xs)):
    error = np.abs(np.asarray(t.grad) - hand[name]).max()
    print(f"dL/d{name} {str(t.shape):7s} by hand vs backward: max |difference| = {error:.1e}")
    assert error < 1e-12

# %% [markdown]
# ## 3. gradcheck: backward against finite differences
# For every input element, (L(x + eps) - L(x - eps)) / (2 eps) must match backward's value.
# It needs float64: in float32, differences of size eps drown in rounding.

# %%
f = lambda xs, W, b: (xs @ W + b).tanh().softmax(dim=-1)
print("gradcheck on softmax(tanh(x W + b)):", ma.gradcheck(f, [xs, W, b]))


class WrongTanh(ma.Function):
    """tanh with a wrong backward: it forgets the square (1 - y instead of 1 - y^2)."""

    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save_for_backward(y)
        return y

    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y)


try:
    ma.gradcheck(lambda xs: WrongTanh.apply(xs), [xs])
except ma.GradcheckError as error:
    print("a wrong backward is caught:", error)

# %% [markdown]
# ## 4. The graph backward() walks
# Every tensor made by an op holds its node in `grad_fn`; `next_functions` points to the
# nodes of its inputs; leaves end in `AccumulateGrad`, which adds into `.grad`.

# %%
y = (xs @ W + b).tanh()
loss = (y * ma.tensor(c)).sum()


names = {id(xs): "x", id(W): "W", id(b): "b"}


def print_graph(node, depth=0, seen=None):
    """Each node once, indented by its distance from the loss."""
    seen = set() if seen is None else seen
    label = node.name()
    if label == "AccumulateGrad":
        leaf = node.variable
        label += f"  -> {names.get(id(leaf), 'leaf')}.grad {tuple(leaf.shape)}"
    else:
        label += f"  output {tuple(node.shape)}"
    print("    " * depth + label + ("  (seen above)" if id(node) in seen else ""))
    if id(node) in seen:
        return
    seen.add(id(node))
    for parent, _ in node.next_functions:
        if parent is not None:
            print_graph(parent, depth + 1, seen)


print_graph(loss.grad_fn)

# %% [markdown]
# The same walk, drawn: `microattn.viz.draw_graph` names the leaves by the dict given,
# shows each op with its output shape and, after backward(), each leaf's gradient
# norm (coloured on a log scale). Graphviz's `dot` lays it out; without it the
# `.dot` source is written instead.

# %%
xs.grad = W.grad = b.grad = None     # the gradients of this loss only
loss.backward()
graph = draw_graph(loss, params={"x": xs, "W": W, "b": b})
print(f"graph of the loss: {graph.full_count} nodes")
show(graph, out / "graph.svg")

# %% [markdown]
# ## 5. One backward, a whole derivative
# For elementwise f, L = sum(f(x)) has dL/dx_i = f'(x_i): one backward() gives the
# derivative at every point at once.

# %%
grid = ma.tensor(np.linspace(-6, 6, args.steps), requires_grad=True)
values = grid * grid * (-grid * grid / 4).exp()
values.sum().backward()
derivative = np.asarray(grid.grad)
points = grid.detach().numpy()
hand = np.exp(-points ** 2 / 4) * (2 * points - points ** 3 / 2)
print(f"derivative at {args.steps} points: max |backward - by hand| = "
      f"{np.abs(derivative - hand).max():.1e}")

fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(points, values.detach().numpy(), label="f(x) = x² exp(-x²/4)")
ax.plot(points, derivative, label="f'(x) from one backward()")
ax.plot(points[::8], hand[::8], "k.", ms=4, label="exp(-x²/4) (2x - x³/2), by hand")
ax.axhline(0, color="grey", lw=0.5)
ax.set_xlabel("x")
ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=9)
ax.set_title("The derivative backward() computes, against the one worked by hand")
show(fig, out / "derivative.png")
