"""Datasets and batches, as ``torch.utils.data``: Dataset, TensorDataset, Subset,
random_split, DataLoader and its default collate.

A DataLoader here reads in the calling process (``num_workers`` is accepted
and changes nothing: numpy batches of toy data are quick to make), and
shuffles with the generator that ``ma.manual_seed`` seeds.
"""
import math
import numbers

import numpy as np

from ..core import Tensor, random
from ..ops import stack


class Dataset:
    """Anything with ``__getitem__(i)`` (and ``__len__``): subclass and define both."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Item i is ``(t[i] for t in tensors)``; every tensor has the same length."""

    def __init__(self, *tensors):
        lengths = {len(t) for t in tensors}
        if len(lengths) > 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors, lengths "
                             f"{[len(t) for t in tensors]}")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return len(self.tensors[0])


class Subset(Dataset):
    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.ends = np.cumsum([len(d) for d in self.datasets])

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        which = int(np.searchsorted(self.ends, index, side="right"))
        start = 0 if which == 0 else int(self.ends[which - 1])
        return self.datasets[which][index - start]

    def __len__(self):
        return int(self.ends[-1]) if len(self.ends) else 0


def random_split(dataset, lengths, generator=None):
    """Subsets of the given lengths (or fractions summing to 1), in a random order
    (from ``generator``, an ``ma.Generator``, if given)."""
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths) and math.isclose(sum(lengths), 1.0):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # the remainder, one each, round-robin
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: lengths {list(lengths)} do not add up to the "
                         f"dataset's length {n}")
    order = random.generator(generator).permutation(n).tolist()
    ends = np.cumsum(lengths)
    return [Subset(dataset, order[end - length:end]) for length, end in zip(lengths, ends)]


def default_collate(batch):
    """A list of samples -> one batch: tensors and arrays stacked on a new dim 0,
    numbers into a tensor, and tuples, lists and dicts collated field by field."""
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch)
    if isinstance(first, np.ndarray):
        return Tensor(np.stack(batch))
    if isinstance(first, (bool, numbers.Number, np.generic)):
        return Tensor(np.array(batch))
    if isinstance(first, str):
        return list(batch)
    if isinstance(first, dict):
        return {key: default_collate([sample[key] for sample in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        if any(len(sample) != len(first) for sample in batch):
            raise RuntimeError("default_collate: each sample in a batch must have the same "
                               "number of fields")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(f"default_collate: cannot batch samples of type {type(first).__name__}")


class DataLoader:
    """Batches of a dataset: ``for x, y in DataLoader(ds, batch_size=32, shuffle=True)``.

    Arguments as PyTorch's: ``batch_size`` (None: single samples, uncollated),
    ``shuffle`` (a new order each epoch, from the seeded generator),
    ``drop_last``, ``collate_fn``; ``num_workers``, ``pin_memory`` and the
    other process and memory options are accepted and change nothing here.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False,
                 timeout=0, worker_init_fn=None, generator=None, **_process_options):
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.drop_last = drop_last
        self.generator = generator
        self.collate_fn = collate_fn or (default_collate if batch_size is not None
                                         else (lambda sample: sample))
        self.num_workers = num_workers

    def _order(self):
        if self.sampler is not None:
            return list(self.sampler)
        n = len(self.dataset)
        if not self.shuffle:
            return list(range(n))
        return random.generator(self.generator).permutation(n).tolist()

    def _batches(self):
        if self.batch_sampler is not None:
            return list(self.batch_sampler)
        order = self._order()
        if self.batch_size is None:
            return order
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        return batches

    def __iter__(self):
        for batch in self._batches():
            if self.batch_size is None and self.batch_sampler is None:
                yield self.collate_fn(self.dataset[batch])
            else:
                yield self.collate_fn([self.dataset[i] for i in batch])

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)


# torch.utils.data re-exports its samplers too
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,  # noqa: E402,F401
                      SubsetRandomSampler)
