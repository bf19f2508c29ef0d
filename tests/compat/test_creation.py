"""PyTorch's extra constructors (compat/creation.py): randint, eye, linspace, ..., samplers and Generator."""
import numpy as np
import pytest

import microattn as ma
from microattn import nn
from microattn import functional as F


torch = pytest.importorskip("torch")


def test_randint_high_size_gives_the_shape_and_rejects_an_empty_range():
    assert ma.randint(2, (3,)).shape == torch.randint(2, (3,)).shape == (3,)
    assert ma.randint(0, 5, (2, 4)).shape == (2, 4)
    values = ma.randint(3, 6, (200,)).detach().numpy()
    assert values.dtype == np.int64 and values.min() >= 3 and values.max() < 6
    with pytest.raises(RuntimeError):
        torch.randint(10, 3, (3,))
    with pytest.raises(RuntimeError, match="low >= high"):
        ma.randint(10, 3, (3,))


def test_normal_and_uniform_fill_in_place_from_the_seeded_generator():
    ma.manual_seed(5)
    a = ma.empty(1000).normal_(2.0, 0.5)
    ma.manual_seed(5)
    b = ma.empty(1000).normal_(2.0, 0.5)
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert abs(a.detach().numpy().mean() - 2.0) < 0.1 and abs(a.detach().numpy().std() - 0.5) < 0.05
    u = ma.zeros(1000).uniform_(-1.0, 3.0)
    assert u.detach().numpy().min() >= -1.0 and u.detach().numpy().max() < 3.0


def test_creation_functions_match_pytorch():
    pairs = [
        (ma.eye(3, 4), torch.eye(3, 4)), (ma.linspace(-1, 2, 7), torch.linspace(-1, 2, 7)),
        (ma.full_like(ma.ones(2, 3), 4.5), torch.full_like(torch.ones(2, 3), 4.5)),
        (ma.as_tensor([1, 2]), torch.as_tensor([1, 2])),
        (ma.from_numpy(np.arange(3.0)), torch.from_numpy(np.arange(3.0))),
        (ma.empty(2, 3), torch.zeros(2, 3)),  # PyTorch's empty holds whatever memory held
    ]
    for ours, theirs in pairs:
        assert ours.dtype.name == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.detach().numpy(), theirs.numpy(), rtol=1e-6)
    shared = np.zeros(2)
    ma.from_numpy(shared)[0] = 7.0
    assert shared[0] == 7.0


def test_manual_seed_seeds_every_sampler():
    def draw():
        return [ma.randn(3).detach().numpy(), ma.rand(3).detach().numpy(),
                ma.randint(10, (3,)).detach().numpy(),
                ma.multinomial(ma.tensor([0.2, 0.3, 0.5]), 4, replacement=True).detach().numpy(),
                ma.randperm(5).detach().numpy(), F.dropout(ma.ones(8), 0.5).detach().numpy(),
                ma.empty(3).normal_().detach().numpy(), ma.randn_like(ma.ones(2)).detach().numpy(),
                nn.init.normal_(ma.empty(3)).detach().numpy()]
    ma.manual_seed(42)
    first = draw()
    ma.manual_seed(42)
    for a, b in zip(first, draw()):
        np.testing.assert_array_equal(a, b)


def test_multinomial_samples_by_weight_without_replacement():
    ma.manual_seed(0)
    probs = ma.tensor([[0.0, 0.4, 0.6], [0.5, 0.5, 0.0]])
    drawn = ma.multinomial(probs, 2)
    assert drawn.shape == (2, 2) and drawn.dtype == np.int64
    assert sorted(drawn.detach().numpy()[0].tolist()) == [1,
                  2] and sorted(drawn.detach().numpy()[1].tolist()) == [0, 1]
    assert ma.multinomial(ma.tensor([0.0, 1.0]), 1).tolist() == [1]
    with pytest.raises(RuntimeError, match="without replacement"):
        ma.multinomial(probs, 3)


def test_a_generator_is_a_stream_of_its_own():
    draws = [lambda g: ma.randn(3, generator=g), lambda g: ma.rand(2, generator=g),
             lambda g: ma.randint(0, 9, (4,), generator=g), lambda g: ma.randperm(5, generator=g),
             lambda g: ma.multinomial(ma.tensor([0.3, 0.7]), 3, True, generator=g),
             lambda g: ma.empty(3).normal_(generator=g), lambda g: ma.empty(2).uniform_(generator=g),
             lambda g: nn.init.normal_(ma.empty(2), generator=g)]
    first = [draw(ma.Generator().manual_seed(7)).detach().numpy() for draw in draws]
    ma.manual_seed(0)
    ma.randn(5)  # the global stream moves on; the generator's does not care
    for draw, expected in zip(draws, first):
        np.testing.assert_array_equal(draw(ma.Generator().manual_seed(7)).detach().numpy(),
                                      expected)
    from microattn.utils.data import DataLoader, TensorDataset, random_split
    split = [list(s) for s in random_split(range(6), [3, 3], generator=ma.Generator().manual_seed(1))]
    assert split == [list(s) for s in random_split(range(6), [3, 3],
                                                    generator=ma.Generator().manual_seed(1))]
    loader = DataLoader(TensorDataset(ma.arange(6)), batch_size=6, shuffle=True,
                        generator=ma.Generator().manual_seed(2))
    again = DataLoader(TensorDataset(ma.arange(6)), batch_size=6, shuffle=True,
                       generator=ma.Generator().manual_seed(2))
    assert next(iter(loader))[0].tolist() == next(iter(again))[0].tolist()
