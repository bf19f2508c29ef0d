"""Module, Parameter and the containers: registration, names, state, modes, dtypes,
printing, and the module paths recorded on graph nodes."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import microattn as ma
from microattn import nn
from microattn.core.grad_mode import state
from microattn.models import GPT

torch = pytest.importorskip("torch")
tnn = torch.nn


# -- a small nested model, and the same structure in PyTorch ---------------------

class Block(nn.Module):
    def __init__(self, d=4):
        super().__init__()
        self.linear1 = nn.Linear(d, 2 * d)
        self.act = nn.ReLU()
        self.linear2 = nn.Linear(2 * d, d, bias=False)
        self.norm = nn.LayerNorm(d)

    def forward(self, x):
        return self.norm(x + self.linear2(self.act(self.linear1(x))))


class Encoder(nn.Module):
    def __init__(self, vocab=7, d=4, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, d, padding_idx=0)
        self.pos = nn.PositionalEncoding(d, max_len=16)
        self.layers = nn.ModuleList([Block(d) for _ in range(layers)])

    def forward(self, idx):
        x = self.pos(self.embed(idx))
        for layer in self.layers:
            x = layer(x)
        return x


class Model(nn.Module):
    def __init__(self, vocab=7, d=4):
        super().__init__()
        self.encoder = Encoder(vocab, d)
        self.head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, vocab))

    def forward(self, idx):
        return self.head(self.encoder(idx))


class TorchBlock(tnn.Module):
    def __init__(self, d=4):
        super().__init__()
        self.linear1 = tnn.Linear(d, 2 * d)
        self.act = tnn.ReLU()
        self.linear2 = tnn.Linear(2 * d, d, bias=False)
        self.norm = tnn.LayerNorm(d)


class TorchModel(tnn.Module):
    def __init__(self, vocab=7, d=4):
        super().__init__()
        self.encoder = tnn.Module()
        self.encoder.embed = tnn.Embedding(vocab, d, padding_idx=0)
        self.encoder.layers = tnn.ModuleList([TorchBlock(d) for _ in range(2)])
        self.head = tnn.Sequential(tnn.Linear(d, d), tnn.GELU(), tnn.Linear(d, vocab))


def graph_nodes(output):
    """Every node of the graph below ``output`` (leaf accumulators included)."""
    nodes, stack, seen = [], [output.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(node._parents)
    return nodes


# -- Parameter -------------------------------------------------------------------

def test_parameter_requires_grad_and_repr():
    p = nn.Parameter(np.ones((2, 2), dtype=np.float32))
    assert p.requires_grad and p.is_leaf and p.dtype == np.float32
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert "requires_grad=True" in repr(p)
    assert not nn.Parameter(np.ones(2), requires_grad=False).requires_grad


def test_parameter_shares_a_tensors_data_and_copies_arrays():
    t = ma.tensor([1.0, 2.0])
    assert nn.Parameter(t).detach().numpy() is t.detach().numpy()
    array = np.array([1.0, 2.0])
    p = nn.Parameter(array)
    array[0] = 5.0
    assert p.detach().numpy()[0] == 1.0


def test_parameter_rejects_integer_data():
    with pytest.raises(RuntimeError, match="floating"):  # as PyTorch
        nn.Parameter(np.arange(3))


def test_ops_on_a_parameter_give_plain_tensors():
    p = nn.Parameter(np.ones(3))
    assert type(p * 2.0) is ma.Tensor
    assert type(p.detach()) is ma.Tensor


def test_deepcopied_parameter_accumulates_its_own_gradient():
    p = nn.Parameter(np.ones(3))
    (p * 2.0).backward(np.ones(3))  # p now has a gradient accumulator
    q = copy.deepcopy(p)
    assert q is not p and q.detach().numpy() is not p.detach().numpy()
    np.testing.assert_array_equal(q.grad, p.grad)
    (q * 3.0).backward(np.ones(3))
    np.testing.assert_array_equal(p.grad, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(q.grad, [5.0, 5.0, 5.0])


# -- registration and names ----------------------------------------------------------

def test_named_parameters_match_pytorch_names_and_order():
    names = [name for name, _ in Model().named_parameters()]
    assert names == [name for name, _ in TorchModel().named_parameters()]
    assert names[:3] == ["encoder.embed.weight", "encoder.layers.0.linear1.weight",
                         "encoder.layers.0.linear1.bias"]
    shapes = {name: p.shape for name, p in Model().named_parameters()}
    assert shapes == {name: tuple(p.shape) for name, p in TorchModel().named_parameters()}


def test_named_modules_and_children():
    model = Model()
    names = [name for name, _ in model.named_modules()]
    torch_names = [name for name, _ in TorchModel().named_modules()]
    assert [n for n in names if not n.startswith("encoder.pos")] == torch_names
    assert names[:4] == ["", "encoder", "encoder.embed", "encoder.pos"]
    assert "encoder.layers.1.norm" in names and "head.2" in names
    assert [name for name, _ in model.named_children()] == ["encoder", "head"]
    assert list(model.children()) == [model.encoder, model.head]
    assert len(list(model.modules())) == len(names)
    assert model.get_submodule("encoder.layers.1.linear2") is model.encoder.layers[1].linear2
    with pytest.raises(AttributeError, match="nope"):
        model.get_submodule("encoder.nope")


def test_shared_parameter_is_counted_once():
    model = Model(vocab=7, d=4)
    model.head[2].weight = model.encoder.embed.weight  # tie output and input embeddings
    params = list(model.parameters())
    assert len(params) == len({id(p) for p in params})
    assert sum(p is model.encoder.embed.weight for p in params) == 1
    expected = TorchModel(vocab=7, d=4)
    expected.head[2].weight = expected.encoder.embed.weight
    assert model.num_parameters() == sum(p.numel() for p in expected.parameters())
    # state_dict keeps both names, as PyTorch
    assert list(model.state_dict()) == list(expected.state_dict())


def test_num_parameters_counts_trainable_only():
    layer = nn.Linear(3, 2)
    assert layer.num_parameters() == 8
    layer.bias.requires_grad = False
    assert layer.num_parameters() == 6
    assert nn.Linear(3, 2).requires_grad_(False).num_parameters() == 0


def test_assignment_rules():
    class Bare(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(np.ones(2))  # forgot super().__init__()

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Bare()
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Parameter or None"):
        layer.weight = ma.tensor(np.ones((2, 2)))
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    layer.scale = 3.0  # plain attributes stay plain
    assert layer.scale == 3.0 and "scale" not in dict(layer.named_parameters())
    del layer.weight
    assert list(layer.named_parameters()) == []
    model = Model()
    model.head = None
    assert [name for name, _ in model.named_children()] == ["encoder"]


def test_buffers_persistent_and_not():
    m = nn.Module()
    m.register_buffer("table", ma.tensor(np.arange(3.0)))
    m.register_buffer("cache", ma.tensor(np.zeros(2)), persistent=False)
    assert [name for name, _ in m.named_buffers()] == ["table", "cache"]
    assert list(m.state_dict()) == ["table"]
    assert list(m.parameters()) == []
    m.table = ma.tensor(np.ones(3))
    np.testing.assert_array_equal(m.state_dict()["table"].detach().numpy(), np.ones(3))
    with pytest.raises(TypeError, match="Tensor or None"):
        m.table = np.ones(3)
    # the sinusoidal table is a buffer, but not saved (it is a function of the sizes)
    pos = nn.PositionalEncoding(4, max_len=8)
    assert [name for name, _ in pos.named_buffers()] == ["pe"]
    assert pos.state_dict() == {}


def test_forward_not_defined():
    with pytest.raises(NotImplementedError, match="define forward"):
        nn.Module()(1)


def test_apply_visits_children_first():
    model = Model()
    visited = []
    assert model.apply(lambda m: visited.append(m)) is model
    assert visited[-1] is model and visited[0] is model.encoder.embed
    assert len(visited) == len(list(model.modules()))


# -- state_dict ------------------------------------------------------------------------

def test_state_dict_shares_data_and_is_detached():
    model = Model()
    state = model.state_dict()
    assert list(state) == list(TorchModel().state_dict())
    weight = state["encoder.layers.0.linear1.weight"]
    assert weight.detach().numpy() is model.encoder.layers[0].linear1.weight.detach().numpy()
    assert not weight.requires_grad and type(weight) is ma.Tensor


def test_load_state_dict_round_trip():
    ma.manual_seed(0)
    source, target = Model(), Model()
    before = {k: v.detach().numpy() for k, v in target.state_dict().items()}
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for key, value in target.state_dict().items():
        assert value.detach().numpy() is before[key]  # copied in place, same arrays
        np.testing.assert_array_equal(value.detach().numpy(),
                                      source.state_dict()[key].detach().numpy())
    # ndarrays are accepted and cast to the parameter's dtype
    arrays = {k: v.detach().numpy().astype(np.float64) + 1 for k, v in source.state_dict().items()}
    target.load_state_dict(arrays)
    weight = target.encoder.embed.weight
    assert weight.dtype == np.float32
    np.testing.assert_allclose(weight.detach().numpy(),
                               source.encoder.embed.weight.detach().numpy() + 1, rtol=1e-6)


def test_load_state_dict_loads_pytorch_weights():
    theirs = TorchModel().double()
    ours = Model().double()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_array_equal(ours.head[0].weight.detach().numpy(),
                                  theirs.head[0].weight.detach().numpy())


def test_load_state_dict_reports_every_problem_at_once():
    model = Model()
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    del state["head.0.bias"]
    state["head.9.weight"] = np.zeros(3)
    state["encoder.embed.weight"] = np.zeros((5, 4))
    original = model.encoder.layers[0].linear1.weight.detach().numpy().copy()
    state["encoder.layers.0.linear1.weight"] = original + 1
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "Missing key(s)" in message and "'head.0.bias'" in message
    assert "Unexpected key(s)" in message and "'head.9.weight'" in message
    assert "size mismatch for encoder.embed.weight" in message
    assert "(5, 4)" in message and "(7, 4)" in message
    # nothing was loaded
    np.testing.assert_array_equal(model.encoder.layers[0].linear1.weight.detach().numpy(), original)


def test_load_state_dict_not_strict():
    model = Model()
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    del state["head.0.bias"]
    state["extra"] = np.zeros(1)
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert missing == ["head.0.bias"] and unexpected == ["extra"]
    state["head.0.weight"] = np.zeros((1, 1))
    with pytest.raises(RuntimeError, match="size mismatch for head.0.weight"):
        model.load_state_dict(state, strict=False)


# -- modes and dtypes -------------------------------------------------------------------

def test_train_and_eval_propagate():
    model = Model()
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    model.encoder.train(False)
    assert model.training and not model.encoder.layers[1].norm.training


def test_zero_grad_sets_none():
    layer = nn.Linear(2, 2)
    for p in layer.parameters():
        p.grad = np.ones(p.shape, dtype=p.dtype)
    layer.zero_grad()
    assert all(p.grad is None for p in layer.parameters())


def test_double_and_float_convert_in_place():
    model = Model()
    assert all(p.dtype == np.float32 for p in model.parameters())
    weight = model.encoder.embed.weight
    weight.grad = np.ones(weight.shape, dtype=np.float32)
    assert model.double() is model
    assert model.encoder.embed.weight is weight  # same Parameter objects
    assert all(t.dtype == np.float64 for t in [*model.parameters(), *model.buffers()])
    assert weight.grad.dtype == np.float64
    assert model.float() is model
    assert all(t.dtype == np.float32 for t in [*model.parameters(), *model.buffers()])


def test_forward_follows_the_dtype():
    model = Model()
    idx = np.array([[1, 2, 0]])
    assert model(idx).dtype == np.float32
    assert model.double()(idx).dtype == np.float64


# -- printing -------------------------------------------------------------------------

def test_repr_matches_pytorch():
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.LayerNorm(4, bias=False),
                         nn.GELU("tanh"), nn.ModuleList([nn.Embedding(10, 3, padding_idx=0)]),
                         nn.Linear(4, 2, bias=False))
    theirs = tnn.Sequential(tnn.Linear(3, 4), tnn.ReLU(), tnn.LayerNorm(4, bias=False),
                            tnn.GELU("tanh"),
                            tnn.ModuleList([tnn.Embedding(10, 3, padding_idx=0)]),
                            tnn.Linear(4, 2, bias=False))
    assert repr(ours) == repr(theirs)
    assert repr(nn.Dropout(0.1)) == repr(tnn.Dropout(0.1)) == "Dropout(p=0.1, inplace=False)"
    assert repr(nn.PositionalEncoding(4, max_len=8)) == (
        "PositionalEncoding(\n  d_model=4, max_len=8\n  (dropout): Dropout(p=0.0, inplace=False)\n)")


# -- containers -------------------------------------------------------------------------

def test_module_list_behaves_like_a_list():
    a, b, c, d = (nn.Linear(1, 1) for _ in range(4))
    layers = nn.ModuleList([a, b])
    layers.append(c)
    assert len(layers) == 3 and list(layers) == [a, b, c]
    assert layers[0] is a and layers[-1] is c
    layers.insert(1, d)
    assert list(layers) == [a, d, b, c]
    assert [name for name, _ in layers.named_children()] == ["0", "1", "2", "3"]
    layers[1] = b
    del layers[1]
    assert list(layers) == [a, b, c]
    layers.extend([d])
    assert list(layers[1:3]) == [b, c] and isinstance(layers[1:3], nn.ModuleList)
    assert len(list(layers.parameters())) == 8
    with pytest.raises(IndexError, match="out of range"):
        layers[4]
    with pytest.raises(NotImplementedError):
        layers(ma.tensor([1.0]))


def test_sequential_chains_and_indexes():
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = ma.tensor(np.random.default_rng(0).standard_normal((5, 3)))
    seq.double()
    expected = seq[2](seq[1](seq[0](x)))
    np.testing.assert_allclose(seq(x).detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear)
    assert len(seq[:2]) == 2
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 3)), ("act", nn.ReLU())]))
    assert [name for name, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    assert named.fc is named[0]


def test_module_dict():
    layers = nn.ModuleDict({"q": nn.Linear(2, 2), "k": nn.Linear(2, 2)})
    layers["v"] = nn.Linear(2, 2)
    assert list(layers) == ["q", "k", "v"] and "k" in layers and len(layers) == 3
    assert [name for name, _ in layers.named_parameters()][:2] == ["q.weight", "q.bias"]
    del layers["k"]
    assert list(layers.keys()) == ["q", "v"]


# -- module paths on graph nodes ---------------------------------------------------------

def test_module_paths_recorded_on_graph_nodes():
    model = Model().double()
    out = model(np.array([[1, 2, 0, 3]]))
    assert out.grad_fn.module_path == "head.2"
    paths = {node.module_path for node in graph_nodes(out) if node.name() != "AccumulateGrad"}
    for i in (0, 1):
        assert {f"encoder.layers.{i}", f"encoder.layers.{i}.linear1",
                f"encoder.layers.{i}.act", f"encoder.layers.{i}.linear2",
                f"encoder.layers.{i}.norm"} <= paths
    assert {"encoder.embed", "encoder.pos", "head.0", "head.1", "head.2"} <= paths
    # containers add no level of their own
    assert not any(p.endswith("layers") or p == "head" for p in paths)
    assert state.module_path == ""


def test_module_path_is_the_same_through_a_container_or_by_index():
    model = Model().double()
    x = ma.tensor(np.ones((1, 4)), requires_grad=True)
    assert model.head(x).grad_fn.module_path == "head.2"
    assert model.head[0](x).grad_fn.module_path == "head.0"
    # a slice is a view, not a new parent: names stay. Called on its own, outside
    # the encoder, the layer's path starts at its name within the encoder.
    assert model.encoder.layers[1:][0](x).grad_fn.module_path == "layers.1.norm"
    assert model.encoder.layers[1].linear1(x).grad_fn.module_path == "linear1"


def test_module_path_renamed_when_a_container_is_adopted():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    parent = nn.Module()
    parent.blocks = layers
    layers.append(nn.Linear(2, 2))
    x = ma.tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    assert parent.blocks[0](x).grad_fn.module_path == "blocks.0"
    assert parent.blocks[1](x).grad_fn.module_path == "blocks.1"


def test_module_stack_restored_after_an_error():
    model = Model()
    with pytest.raises(IndexError):
        model(np.array([[100]]))  # token id out of range, deep inside
    assert state.module_path == ""
    assert model(np.array([[1]])).grad_fn.module_path == "head.2"


def test_deepcopy_gives_an_independent_module():
    block = Block().double()
    x = ma.tensor(np.ones((2, 4)))
    block(x).backward(np.ones((2, 4)))  # gives every parameter its gradient accumulator
    block.zero_grad()
    twin = copy.deepcopy(block)
    for p, q in zip(block.parameters(), twin.parameters()):
        assert q is not p and q.detach().numpy() is not p.detach().numpy()
        np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())
    twin(x).backward(np.ones((2, 4)))
    assert all(p.grad is None for p in block.parameters())
    assert all(q.grad is not None for q in twin.parameters())


def linear_pair():
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


class Boom(Exception):
    pass


GOOD = dict(vocab_size=11, d_model=8, nhead=2, num_layers=1, max_len=6)


@pytest.fixture(scope="module")
def gpt():
    ma.manual_seed(0)
    return GPT(**GOOD).eval()


def test_load_state_dict_of_a_list_is_a_type_error_like_torch():
    ours, theirs = linear_pair()
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got list"):
        ours.load_state_dict([("weight", np.zeros((2, 3)))])
    with pytest.raises(TypeError, match="dict-like"):
        theirs.load_state_dict([("weight", torch.zeros(2, 3))])


@pytest.mark.parametrize("bad_bias,match", [
    ("zeros", r'parameter named "bias".*received str'),
    ([0.0, 0.0], r'parameter named "bias".*received list'),
    (np.zeros(2, dtype=complex), "dtype mismatch for bias: cannot copy complex128"),
    (np.array(["a", "b"]), "dtype mismatch for bias"),
    (np.zeros(3), r"size mismatch for bias"),
])
@pytest.mark.parametrize("strict", [True, False])
def test_load_state_dict_copies_nothing_unless_every_entry_fits(bad_bias, match, strict):
    ours, _ = linear_pair()
    before = {k: v.detach().numpy().copy() for k, v in ours.state_dict().items()}
    state = {"weight": np.ones((2, 3)), "bias": bad_bias}   # weight first: it fits
    with pytest.raises(RuntimeError, match=match):
        ours.load_state_dict(state, strict=strict)
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.detach().numpy(), before[key])


def test_load_state_dict_casts_numbers_to_the_parameter_dtype():
    ours, _ = linear_pair()
    ours.load_state_dict({"weight": np.arange(6).reshape(2, 3), "bias": ma.tensor([True, False])})
    assert ours.weight.dtype == np.float32 and ours.weight.detach().numpy()[1, 2] == 5.0
    np.testing.assert_array_equal(ours.bias.detach().numpy(), [1.0, 0.0])


@pytest.mark.parametrize("as_tensor", [False, True])
def test_zero_grad_set_to_none_like_torch(as_tensor):
    ours, theirs = linear_pair()
    x = np.ones((4, 3), dtype=np.float32)
    ours(ma.tensor(x)).sum().backward()
    theirs(torch.tensor(x)).sum().backward()
    if as_tensor:   # .grad is becoming a Tensor: zero_grad handles both
        ours.weight.grad = ma.tensor(np.asarray(ours.weight.grad))
    grad = ours.weight.grad
    ours.zero_grad(set_to_none=False)
    theirs.zero_grad(set_to_none=False)
    assert ours.weight.grad is grad
    np.testing.assert_array_equal(np.asarray(ours.weight.grad), theirs.weight.grad.numpy())
    np.testing.assert_array_equal(np.asarray(ours.bias.grad), 0.0)
    ours.zero_grad()
    theirs.zero_grad()
    assert ours.weight.grad is None and theirs.weight.grad is None
    assert ours.bias.grad is None and theirs.bias.grad is None
