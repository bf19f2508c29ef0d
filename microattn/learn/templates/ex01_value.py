# %% [markdown]
# # Exercise 1: a scalar autograd `Value`
#
# A `Value` holds one number and remembers the Values it was computed from.
# `backward()` walks that graph from the output back to the inputs and leaves
# in each `.grad` the derivative dL/d(that value) of the output L, by the chain
# rule. This is micrograd's engine; microattn's `Tensor` does the same on
# arrays (docs/autograd.md, sections 5 to 7).
#
# Complete every method that raises NotImplementedError. Check your work with
# `microattn learn check 1` (or run this file); `microattn learn hint 1` gives
# a hint at a time.

# %%
import math


def as_value(x):
    """x itself if it is a Value, else a new Value holding the number x."""
    return x if isinstance(x, Value) else Value(x)


class Value:
    """One number in a computation graph.

    ``data`` is the number; ``grad`` is dL/d(data), 0 until backward() fills it;
    ``_prev`` holds the Values this one was computed from; ``_backward`` is a
    function that adds this Value's share of the gradient (from ``self.grad``)
    to the ``.grad`` of each Value in ``_prev``.
    """

    def __init__(self, data, _prev=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._prev = tuple(_prev)
        self._op = _op
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    def __add__(self, other):
        """z = a + b.     dL/da += dL/dz,   dL/db += dL/dz

        (+=, not =: a Value used twice, as in a + a, receives both shares.)
        """
        # solution:begin
        other = as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = _backward
        return out
        # solution:end

    def __mul__(self, other):
        """z = a b.     dL/da += b dL/dz,   dL/db += a dL/dz"""
        # solution:begin
        other = as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = _backward
        return out
        # solution:end

    def __pow__(self, k):
        """z = a^k for a number k (an int or a float, not a Value).     dL/da += k a^(k-1) dL/dz"""
        # solution:begin
        out = Value(self.data ** k, (self,), f"**{k}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad
        out._backward = _backward
        return out
        # solution:end

    def tanh(self):
        """t = tanh(a).     dL/da += (1 - t^2) dL/dt"""
        # solution:begin
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1 - t * t) * out.grad
        out._backward = _backward
        return out
        # solution:end

    def exp(self):
        """z = e^a.     dL/da += z dL/dz"""
        # solution:begin
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad
        out._backward = _backward
        return out
        # solution:end

    def backward(self):
        """Fill the .grad of every Value this one depends on with dL/d(that Value), L = self.

        Order the graph topologically (every Value after the Values it was
        computed from), set self.grad = 1 (dL/dL), then call each Value's
        _backward in the reverse of that order: a Value passes its gradient on
        only once every Value that uses it has added its share.
        """
        # solution:begin
        order, visited = [], set()
        stack = [(self, False)]
        while stack:  # depth-first, without recursion: a node after its inputs
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
            elif id(node) not in visited:
                visited.add(id(node))
                stack.append((node, True))
                stack.extend((parent, False) for parent in node._prev)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
        # solution:end

    # Given: the rest of the arithmetic, built from the methods above.
    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-as_value(other))

    def __truediv__(self, other):
        return self * as_value(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return as_value(other) - self

    def __rtruediv__(self, other):
        return as_value(other) / self


# %%
if __name__ == "__main__":
    from microattn.learn import check_script
    check_script(1)
