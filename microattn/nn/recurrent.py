"""Recurrent layers, as ``torch.nn``: RNN, GRU, LSTM and their one-step cells.

Each is composed from ops that already have their backward (linear, sigmoid,
tanh, chunk, stack), so autograd differentiates through time with nothing new
to check. The input projection ``x W_ih^T + b_ih`` of every time step is one
matmul; only the recurrence ``h W_hh^T + b_hh`` runs step by step, over whole
batches. Parameter names, shapes, gate order and initialisation are
PyTorch's, so a ``torch.nn.GRU``'s state_dict loads as it is.
"""
import math

import numpy as np

from .. import functional as F
from ..core import get_default_dtype, zeros
from ..core.errors import ShapeError
from ..core.dtype import as_dtype, check_device
from ..ops import cat, stack
from ..ops.dropout import check_probability
from . import init
from .module import Module, Parameter, check_sizes


# -- one time step: (gi = x W_ih^T + b_ih, state) -> new state ----------------------
def rnn_step(gi, h, w_hh, b_hh, nonlinearity="tanh"):
    """h' = act(gi + h W_hh^T + b_hh), act tanh or relu."""
    pre = gi + F.linear(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def gru_step(gi, h, w_hh, b_hh):
    """Gates in PyTorch's order r, z, n::

        r = sigmoid(gi_r + h W_hr^T + b_hr)       z = sigmoid(gi_z + h W_hz^T + b_hz)
        n = tanh(gi_n + r * (h W_hn^T + b_hn))    h' = (1 - z) * n + z * h
    """
    gh = F.linear(h, w_hh, b_hh)
    i_r, i_z, i_n = gi.chunk(3, -1)  # (B, 3H) -> three (B, H)
    h_r, h_z, h_n = gh.chunk(3, -1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * h


def lstm_step(gi, state, w_hh, b_hh):
    """Gates in PyTorch's order i, f, g, o, from gi + h W_hh^T + b_hh::

        c' = sigmoid(f) * c + sigmoid(i) * tanh(g)     h' = sigmoid(o) * tanh(c')
    """
    h, c = state
    gates = gi + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, -1)  # (B, 4H) -> four (B, H)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}


def _step_for(mode):
    if mode == "RNN_TANH":
        return rnn_step
    if mode == "RNN_RELU":
        return lambda gi, h, w, b: rnn_step(gi, h, w, b, "relu")
    return gru_step if mode == "GRU" else lstm_step


def _nonlinearity_mode(nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    return "RNN_" + nonlinearity.upper()


def _weights(module, names, input_size, hidden_size, gates, bias, dtype):
    """Register weight_ih (G H, in), weight_hh (G H, H) and the two biases (G H) under
    ``names``, each U(-1/sqrt(H), 1/sqrt(H)) as PyTorch draws them."""
    shapes = [(gates * hidden_size, input_size), (gates * hidden_size, hidden_size)]
    shapes += [(gates * hidden_size,)] * 2
    bound = 1 / math.sqrt(hidden_size) if hidden_size > 0 else 0
    for i, (name, shape) in enumerate(zip(names, shapes)):
        if i >= 2 and not bias:
            module.register_parameter(name, None)
            continue
        setattr(module, name, Parameter(np.empty(shape, dtype=dtype)))
        init.uniform_(getattr(module, name), -bound, bound)


class RNNBase(Module):
    """A stack of ``num_layers`` recurrent layers, as ``torch.nn.RNNBase``.

    Input (T, B, input_size), or (B, T, input_size) with ``batch_first``, or
    unbatched (T, input_size). Returns ``(output, h_n)`` (LSTM: ``(output,
    (h_n, c_n))``): output (T, B, D * hidden_size) holds the last layer's h at
    every step (D = 2 when ``bidirectional``: forward and reverse side by
    side); h_n (D * num_layers, B, hidden_size) the last h of every layer and
    direction. Initial states default to zeros. ``dropout`` drops each
    layer's output but the last's, while training.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__()
        check_device(device, type(self).__name__)
        check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size,
                    num_layers=num_layers)
        check_probability(dropout)
        if num_layers < 1 or hidden_size < 1:
            raise ValueError(f"{type(self).__name__}: hidden_size and num_layers must be "
                             f"positive, got {hidden_size} and {num_layers}")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        dtype = as_dtype(dtype) or get_default_dtype()
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                names = [f"{kind}_l{layer}{suffix}"
                         for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                _weights(self, names, layer_input, hidden_size, _GATES[mode], bias, dtype)
                self._flat_weights_names += names[:4 if bias else 2]

    @property
    def all_weights(self):
        """[[weight_ih, weight_hh, bias_ih, bias_hh] per layer and direction], as PyTorch."""
        per = 4 if self.bias else 2
        params = [getattr(self, n) for n in self._flat_weights_names]
        return [params[i:i + per] for i in range(0, len(params), per)]

    def flatten_parameters(self):
        """PyTorch packs the weights into one buffer for cuDNN; here each is its own
        array already, so there is nothing to do."""

    def _initial_state(self, x, hx, batch):
        """hx as given, or zeros (D * num_layers, B, H), its shape checked as PyTorch."""
        expected = (self.num_layers * (2 if self.bidirectional else 1), batch, self.hidden_size)
        if hx is None:
            return zeros(expected, dtype=x.dtype)
        if tuple(hx.shape) != expected:
            raise RuntimeError(f"{type(self).__name__}: expected hidden size {expected}, got "
                               f"{tuple(hx.shape)}")
        return hx

    def _direction(self, step, x, state, names, reverse):
        """Run one layer in one direction over x (T, B, in): (outputs (T, B, H), last state)."""
        w_ih, w_hh, b_ih, b_hh = (getattr(self, n) for n in names)
        gi = F.linear(x, w_ih, b_ih)  # (T, B, G H): every step's input projection at once
        outputs = [None] * x.shape[0]
        for t in (reversed(range(x.shape[0])) if reverse else range(x.shape[0])):
            state = step(gi[t], state, w_hh, b_hh)
            outputs[t] = state[0] if self.mode == "LSTM" else state
        return stack(outputs, 0), state  # (T, B, H)

    def _check_input(self, input):
        if input.ndim not in (2, 3):
            raise ShapeError(f"{type(self).__name__}: expected input of 2 (unbatched) or 3 "
                             f"dims, got shape {tuple(input.shape)}")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{type(self).__name__}: input.size(-1) must be equal to "
                               f"input_size. Expected {self.input_size}, got {input.shape[-1]}")
        if input.shape[0 if input.ndim == 2 or not self.batch_first else 1] == 0:
            raise RuntimeError(f"{type(self).__name__}: the input sequence is empty "
                               f"(shape {tuple(input.shape)})")

    def _run(self, input, states):
        """The stack over input (T, B, in) from initial ``states`` (each (D L, B, H)):
        (output (T, B, D H), final states, each (D L, B, H))."""
        step = _step_for(self.mode)
        directions = 2 if self.bidirectional else 1
        x, finals = input, []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                k = layer * directions + d
                start = tuple(s[k] for s in states)
                names = [f"{kind}_l{layer}{suffix}"
                         for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                out, last = self._direction(step, x, start if len(start) > 1 else start[0],
                                            names, reverse=d == 1)
                outs.append(out)
                finals.append(last if isinstance(last, tuple) else (last,))
            x = outs[0] if directions == 1 else cat(outs, -1)  # (T, B, D H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        return x, tuple(stack(list(parts), 0) for parts in zip(*finals))

    def _forward(self, input, states):
        """Batch-first and unbatched inputs in and out of (T, B, ...) around ``_run``."""
        self._check_input(input)
        unbatched = input.ndim == 2
        if unbatched:
            input = input.unsqueeze(1)            # (T, in) -> (T, 1, in)
            states = [None if s is None else s.unsqueeze(1) for s in states]
        elif self.batch_first:
            input = input.transpose(0, 1)         # (B, T, in) -> (T, B, in)
        states = [self._initial_state(input, s, input.shape[1]) for s in states]
        output, finals = self._run(input, states)
        if unbatched:
            return output.squeeze(1), tuple(f.squeeze(1) for f in finals)
        if self.batch_first:
            output = output.transpose(0, 1)       # (T, B, D H) -> (B, T, D H)
        return output, finals

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


class RNN(RNNBase):
    """Elman RNN, as ``torch.nn.RNN``: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),
    act ``tanh`` or ``relu``. ``forward(input, hx=None) -> (output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        self.nonlinearity = nonlinearity
        super().__init__(_nonlinearity_mode(nonlinearity), input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, device, dtype)

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, [hx])
        return output, h_n


class GRU(RNNBase):
    """Gated recurrent unit, as ``torch.nn.GRU`` (gates r, z, n; see :func:`gru_step`).
    ``forward(input, hx=None) -> (output, h_n)``."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device, dtype)

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, [hx])
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory, as ``torch.nn.LSTM`` (gates i, f, g, o; see :func:`lstm_step`).
    ``forward(input, hx=None) -> (output, (h_n, c_n))``, hx an ``(h_0, c_0)`` pair.
    ``proj_size`` (projected h) is not implemented."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        if proj_size:
            raise NotImplementedError("LSTM: proj_size is not implemented in microattn")
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device, dtype)

    def forward(self, input, hx=None):
        h0, c0 = (None, None) if hx is None else hx
        output, (h_n, c_n) = self._forward(input, [h0, c0])
        return output, (h_n, c_n)


class RNNCellBase(Module):
    """One time step on a batch: input (B, input_size) or (input_size,), state
    (B, hidden_size) or (hidden_size,), zeros when not given."""

    def __init__(self, mode, input_size, hidden_size, bias, device, dtype):
        super().__init__()
        check_device(device, type(self).__name__)
        check_sizes(type(self).__name__, input_size=input_size, hidden_size=hidden_size)
        self.mode, self.input_size, self.hidden_size, self.bias = (mode, input_size,
                                                                   hidden_size, bias)
        _weights(self, ["weight_ih", "weight_hh", "bias_ih", "bias_hh"], input_size,
                 hidden_size, _GATES[mode], bias, as_dtype(dtype) or get_default_dtype())

    def _cell(self, input, states):
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise RuntimeError(f"{type(self).__name__}: expected input of shape (B, "
                               f"{self.input_size}) or ({self.input_size},), got "
                               f"{tuple(input.shape)}")
        unbatched = input.ndim == 1
        if unbatched:
            input = input.unsqueeze(0)  # (in,) -> (1, in)
            states = [None if s is None else s.unsqueeze(0) for s in states]
        shape = (input.shape[0], self.hidden_size)
        for s in states:
            if s is not None and tuple(s.shape) != shape:
                raise RuntimeError(f"{type(self).__name__}: expected hidden of shape {shape}, "
                                   f"got {tuple(s.shape)}")
        states = [zeros(shape, dtype=input.dtype) if s is None else s for s in states]
        gi = F.linear(input, self.weight_ih, self.bias_ih)  # (B, G H)
        state = states[0] if len(states) == 1 else tuple(states)
        out = _step_for(self.mode)(gi, state, self.weight_hh, self.bias_hh)
        out = out if isinstance(out, tuple) else (out,)
        return tuple(o.squeeze(0) for o in out) if unbatched else out

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh), as ``torch.nn.RNNCell``."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        self.nonlinearity = nonlinearity
        super().__init__(_nonlinearity_mode(nonlinearity), input_size, hidden_size, bias,
                         device, dtype)

    def forward(self, input, hx=None):
        return self._cell(input, [hx])[0]


class GRUCell(RNNCellBase):
    """One GRU step (see :func:`gru_step`), as ``torch.nn.GRUCell``."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        return self._cell(input, [hx])[0]


class LSTMCell(RNNCellBase):
    """One LSTM step (see :func:`lstm_step`), as ``torch.nn.LSTMCell``: returns (h', c')."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        h, c = (None, None) if hx is None else hx
        return self._cell(input, [h, c])
