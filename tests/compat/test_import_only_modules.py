"""The modules PyTorch scripts import without needing: torch.distributed,
torch.multiprocessing, torch.nn.parallel, and torch.utils.data's submodules
(dataloader, dataset, sampler) with PyTorch's samplers."""
import subprocess
import sys

import numpy as np
import pytest

import microattn as ma
from microattn.utils.data import DataLoader, TensorDataset
from microattn.compat.sampler import (BatchSampler, RandomSampler, SequentialSampler,
                                     SubsetRandomSampler)

torch = pytest.importorskip("torch")


def test_imports_resolve_under_install_as_torch():
    code = (
        "import microattn as ma\nma.install_as_torch()\n"
        "import torch, torch.nn as nn\n"
        "import torch.distributed as dist, torch.multiprocessing as mp, torch.nn.parallel\n"
        "from torch.nn.parallel import DistributedDataParallel as DDP\n"
        "from torch.utils.data.dataloader import DataLoader\n"
        "from torch.utils.data.dataset import Dataset, TensorDataset\n"
        "from torch.utils.data.sampler import RandomSampler, BatchSampler\n"
        "from torch.utils.data import SequentialSampler\n"
        "assert dist.is_available() is False and not dist.is_initialized()\n"
        "assert mp.cpu_count() >= 1 and callable(mp.spawn)\n"
        "for use in (lambda: DDP(nn.Linear(2, 2)), lambda: dist.init_process_group('gloo'),\n"
        "            lambda: torch.nn.parallel.DataParallel(nn.Linear(2, 2))):\n"
        "    try:\n        use()\n    except RuntimeError as e:\n        print(str(e).split(':')[0])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:3] == [
        "torch.nn.parallel.DistributedDataParallel", "torch.distributed.init_process_group",
        "torch.nn.parallel.DataParallel"]


def test_samplers_give_pytorchs_orders_and_lengths():
    data = list(range(10))
    assert list(SequentialSampler(data)) == list(torch.utils.data.SequentialSampler(data))
    for drop_last in (True, False):
        ours = list(BatchSampler(SequentialSampler(data), 3, drop_last))
        theirs = list(torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(data),
                                                    3, drop_last))
        assert ours == theirs and len(BatchSampler(data, 3, drop_last)) == len(theirs)
    ma.manual_seed(0)
    order = list(RandomSampler(data))
    assert sorted(order) == data and order != data
    assert len(list(RandomSampler(data, replacement=True, num_samples=25))) == 25
    assert len(list(RandomSampler(data, num_samples=25))) == 25
    assert sorted(SubsetRandomSampler([2, 5, 7])) == [2, 5, 7]
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(data, 0, False)


def test_data_loader_takes_a_sampler_and_a_batch_sampler():
    ds = TensorDataset(ma.tensor(np.arange(6.0)))
    batches = [b[0].detach().numpy().tolist() for b in DataLoader(ds, batch_size=2,
                                                       sampler=SequentialSampler(ds))]
    assert batches == [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
    loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, False))
    assert [len(b[0]) for b in loader] == [4, 2] and len(loader) == 2
