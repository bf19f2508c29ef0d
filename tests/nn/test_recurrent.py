"""nn.RNN, nn.GRU, nn.LSTM and their cells: PyTorch's parameters, values and
gradients from the same weights, and float64 gradchecks on drawn shapes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import microattn as ma
from microattn import nn

torch = pytest.importorskip("torch")

KINDS = ["RNN", "RNN_relu", "GRU", "LSTM"]


def _pair(kind, *args, **kwargs):
    """The same layer in microattn and PyTorch (float64), with PyTorch's weights."""
    name, extra = (kind, {}) if kind != "RNN_relu" else ("RNN", {"nonlinearity": "relu"})
    theirs = getattr(torch.nn, name)(*args, **kwargs, **extra).double()
    ours = getattr(nn, name)(*args, **kwargs, **extra).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _flat(out):
    """output, h_n or (output, (h_n, c_n)) as a flat list."""
    if isinstance(out, tuple):
        return [t for item in out for t in _flat(item)]
    return [out]


def _compare(ours, theirs, inputs, atol=1e-12):
    """Forward both on the same float64 inputs; compare every output, then the
    gradients of the inputs and parameters for one random projection."""
    ma_in = [None if a is None else ma.tensor(a, requires_grad=True) for a in inputs]
    th_in = [None if a is None else torch.tensor(a, requires_grad=True) for a in inputs]
    ma_out, th_out = _flat(ours(*_nest(ma_in))), _flat(theirs(*_nest(th_in)))
    rng = np.random.default_rng(0)
    ma_loss, th_loss = 0, 0
    for m, t in zip(ma_out, th_out, strict=True):
        np.testing.assert_allclose(m.detach().numpy(), t.detach().numpy(), rtol=0, atol=atol)
        w = rng.standard_normal(t.shape)
        ma_loss = ma_loss + (m * ma.tensor(w)).sum()
        th_loss = th_loss + (t * torch.tensor(w)).sum()
    ma_loss.backward()
    th_loss.backward()
    for m, t in zip(ma_in, th_in):
        if m is not None:
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=0, atol=atol)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters(), strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=atol, err_msg=name)


def _nest(args):
    """(x, h0, c0) -> (x, (h0, c0)) for LSTMs; others as they are."""
    return (args[0], tuple(args[1:])) if len(args) == 3 else tuple(args)


@settings(max_examples=12)
@given(kind=st.sampled_from(KINDS), steps=st.integers(1, 4), batch=st.integers(1, 3),
       size=st.integers(1, 3), hidden=st.integers(1, 4), layers=st.integers(1, 2),
       bidirectional=st.booleans(), batch_first=st.booleans(), bias=st.booleans(),
       with_state=st.booleans(), seed=st.integers(0, 2**16))
def test_layers_match_pytorch_values_and_gradients(kind, steps, batch, size, hidden, layers,
                                                    bidirectional, batch_first, bias,
                                                    with_state, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    ours, theirs = _pair(kind, size, hidden, num_layers=layers, bias=bias,
                         batch_first=batch_first, bidirectional=bidirectional)
    x = rng.standard_normal((batch, steps, size) if batch_first else (steps, batch, size))
    states = []
    if with_state:
        shape = ((2 if bidirectional else 1) * layers, batch, hidden)
        states = [rng.standard_normal(shape) for _ in range(2 if kind == "LSTM" else 1)]
    _compare(ours, theirs, [x, *states])


@pytest.mark.parametrize("kind", KINDS)
def test_unbatched_input_matches_pytorch(kind):
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    ours, theirs = _pair(kind, 3, 4, num_layers=2, bidirectional=True)
    states = [rng.standard_normal((4, 4)) for _ in range(2 if kind == "LSTM" else 1)]
    _compare(ours, theirs, [rng.standard_normal((5, 3)), *states])


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("batched", [True, False])
def test_cells_match_pytorch_values_and_gradients(kind, batched):
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    theirs = getattr(torch.nn, kind)(3, 5).double()
    ours = getattr(nn, kind)(3, 5).double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    lead = (4,) if batched else ()
    states = [rng.standard_normal(lead + (5,)) for _ in range(2 if kind == "LSTMCell" else 1)]
    _compare(ours, theirs, [rng.standard_normal(lead + (3,)), *states])
    _compare(ours, theirs, [rng.standard_normal(lead + (3,))])  # no state: zeros


@settings(max_examples=8)
@given(kind=st.sampled_from(KINDS), steps=st.integers(1, 3), batch=st.integers(1, 2),
       bidirectional=st.booleans(), seed=st.integers(0, 2**16))
def test_gradcheck_through_time(kind, steps, batch, bidirectional, seed):
    ma.manual_seed(seed)
    name, extra = (kind, {}) if kind != "RNN_relu" else ("RNN", {"nonlinearity": "relu"})
    layer = getattr(nn, name)(2, 3, num_layers=2, bidirectional=bidirectional, **extra).double()
    rng = np.random.default_rng(seed)
    x = ma.tensor(rng.standard_normal((steps, batch, 2)), requires_grad=True)
    h0 = ma.tensor(rng.standard_normal(((2 if bidirectional else 1) * 2, batch, 3)),
                   requires_grad=True)

    def run(x, h0, *params):  # the parameters are perturbed in place by gradcheck
        return _flat(layer(x, (h0, h0 * 0.5) if kind == "LSTM" else h0))

    assert ma.gradcheck(run, [x, h0, *layer.parameters()])


def test_parameter_names_shapes_and_order_are_pytorchs():
    for kind in ("RNN", "GRU", "LSTM"):
        theirs = getattr(torch.nn, kind)(3, 4, num_layers=2, bidirectional=True)
        ours = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
        assert len(ours.all_weights) == len(theirs.all_weights) == 4
    no_bias = nn.GRU(3, 4, bias=False)
    assert list(no_bias.state_dict()) == list(torch.nn.GRU(3, 4, bias=False).state_dict())
    for kind in ("RNNCell", "GRUCell", "LSTMCell"):
        assert [(k, tuple(v.shape)) for k, v in getattr(nn, kind)(3, 4).state_dict().items()] \
            == [(k, tuple(v.shape)) for k, v in
                getattr(torch.nn, kind)(3, 4).state_dict().items()]


def test_initialisation_is_uniform_within_one_over_sqrt_hidden():
    ma.manual_seed(0)
    layer = nn.LSTM(8, 16)
    for name, p in layer.named_parameters():
        values = p.detach().numpy()
        assert np.abs(values).max() <= 0.25, name
        assert values.std() > 0.25 / np.sqrt(3) * 0.8, name  # U(-b, b) has std b / sqrt(3)


def test_dropout_between_layers_only_while_training():
    torch.manual_seed(0)
    ours, theirs = _pair("GRU", 3, 4, num_layers=3, dropout=0.5)
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    ours.eval()
    theirs.eval()
    _compare(ours, theirs, [x])  # eval: no dropout, as PyTorch
    ours.train()
    out_a = ours(ma.tensor(x))[0].detach().numpy()
    out_b = ours(ma.tensor(x))[0].detach().numpy()
    assert not np.allclose(out_a, out_b)  # different masks each call


def test_bad_shapes_raise_runtime_errors_naming_the_layer():
    layer = nn.GRU(3, 4, num_layers=2)
    with pytest.raises(RuntimeError, match="GRU: input.size\\(-1\\) must be equal to "
                                           "input_size. Expected 3, got 5"):
        layer(ma.zeros(2, 1, 5))
    with pytest.raises(RuntimeError, match="GRU: expected hidden size \\(2, 1, 4\\)"):
        layer(ma.zeros(2, 1, 3), ma.zeros(1, 1, 4))
    with pytest.raises(RuntimeError, match="LSTMCell: expected hidden of shape"):
        nn.LSTMCell(3, 4)(ma.zeros(2, 3), (ma.zeros(2, 4), ma.zeros(3, 4)))
    with pytest.raises(ValueError, match="Unknown nonlinearity 'gelu'"):
        nn.RNN(3, 4, nonlinearity="gelu")
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)


def test_float32_layers_stay_float32():
    out, (h, c) = nn.LSTM(3, 4)(ma.randn(5, 2, 3))
    assert out.dtype == h.dtype == c.dtype == np.float32
    assert out.shape == (5, 2, 4) and h.shape == c.shape == (1, 2, 4)
