"""Sizes checked against memory before anything is allocated."""
import pytest

from microattn.data import load_task
from microattn.train import Config, RunError, build_model
from microattn.train import memory


@pytest.fixture(scope="module")
def reverse():
    return load_task("reverse")


def test_the_estimate_grows_with_every_size(reverse):
    base = Config.for_task(reverse, d_model=16, heads=2, layers=1, ff=32, batch_size=8)
    small = memory.estimate_bytes(reverse, base)
    for change in (dict(d_model=32), dict(ff=64), dict(layers=2), dict(batch_size=16)):
        bigger = Config.from_dict({**base.to_dict(), **change})
        assert memory.estimate_bytes(reverse, bigger) > small, change


def test_the_estimate_bounds_the_weights(reverse):
    """At least the 4 float32 copies of every weight AdamW training keeps."""
    config = Config.for_task(reverse, d_model=32, heads=2, layers=2, ff=64, batch_size=1)
    model = build_model(reverse, config)
    assert memory.estimate_bytes(reverse, config) >= 4 * 4 * model.num_parameters()


def test_too_large_is_refused_before_allocating(reverse, monkeypatch):
    monkeypatch.setattr(memory, "available_bytes", lambda: 10 * 2**20)   # 10 MB free
    config = Config.for_task(reverse, d_model=512, heads=8, ff=2048)
    with pytest.raises(RunError, match=r"d_model 512.*GB of memory; 0.0 GB is available"):
        build_model(reverse, config)
