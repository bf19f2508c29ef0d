"""microattn.utils.data, as torch.utils.data: datasets, splits, batching."""
import numpy as np
import pytest

import microattn as ma
from microattn.utils.data import (ConcatDataset, DataLoader, Dataset, Subset, TensorDataset,
                                  default_collate, random_split)

torch = pytest.importorskip("torch")


def test_batches_without_shuffle_match_torch():
    x = np.arange(14.0, dtype=np.float32).reshape(7, 2)
    ours = list(DataLoader(TensorDataset(ma.tensor(x), ma.arange(7)), batch_size=3))
    theirs = list(torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.arange(7)), batch_size=3))
    assert len(ours) == len(theirs) == 3
    for (a, b), (c, d) in zip(ours, theirs):
        np.testing.assert_array_equal(a.detach().numpy(), c.numpy())
        np.testing.assert_array_equal(b.detach().numpy(), d.numpy())


def test_shuffle_is_a_new_permutation_each_epoch_and_follows_manual_seed():
    loader = DataLoader(TensorDataset(ma.arange(20)), batch_size=5, shuffle=True)
    ma.manual_seed(1)
    first = [b[0].tolist() for b in loader]
    second = [b[0].tolist() for b in loader]
    assert sorted(sum(first, [])) == list(range(20)) and first != second
    ma.manual_seed(1)
    assert [b[0].tolist() for b in loader] == first


def test_collate_stacks_fields_of_any_nesting():
    batch = default_collate([{"x": np.ones(2), "y": 1}, {"x": np.zeros(2), "y": 0}])
    assert batch["x"].shape == (2, 2) and batch["y"].tolist() == [1, 0]
    pairs = default_collate([(ma.ones(3), "a"), (ma.zeros(3), "b")])
    assert pairs[0].shape == (2, 3) and pairs[1] == ["a", "b"]


def test_splits_subsets_and_concatenation():
    ma.manual_seed(0)
    train, held = random_split(range(10), [0.8, 0.2])
    assert (len(train), len(held)) == (8, 2)
    assert sorted(list(train) + list(held)) == list(range(10))
    with pytest.raises(ValueError, match="add up"):
        random_split(range(10), [3, 3])
    both = ConcatDataset([Subset(range(5), [4, 3]), range(10, 12)])
    assert [both[i] for i in range(len(both))] == [4, 3, 10, 11] and both[-1] == 11


def test_a_dataset_subclass_with_batch_size_none_gives_single_samples():
    class Squares(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return i * i
    assert list(DataLoader(Squares(), batch_size=None)) == [0, 1, 4]
    assert len(DataLoader(Squares(), batch_size=2, drop_last=True)) == 1
