"""ma.save / ma.load: exact round trips, atomic writes, and refusal of bad files."""
import json
import os
import pickle
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import microattn as ma
from microattn import optim
from microattn.serialization import SerializationError, load, save
from helpers import leaf
import io
import stat
from microattn import serialization
from microattn.serialization import MAX_DEPTH


def assert_identical(actual, expected, where="obj"):
    """Same types all the way down, same dtypes and shapes, same values (nan == nan)."""
    assert type(actual) is type(expected) or (
        isinstance(expected, ma.Tensor) and type(actual) is ma.Tensor), \
        f"{where}: {type(actual).__name__} != {type(expected).__name__}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{where}: keys {list(actual)} != {list(expected)}"
        for key in expected:
            assert type(key) is type(next(k for k in actual if k == key))
            assert_identical(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), f"{where}: length"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_identical(a, e, f"{where}[{i}]")
    elif isinstance(expected, (ma.Tensor, np.ndarray, np.generic)):
        a, e = np.asarray(actual), np.asarray(expected)
        assert a.dtype == e.dtype and a.shape == e.shape, f"{where}: {a.dtype}{a.shape}"
        np.testing.assert_array_equal(a, e, err_msg=where)
        if isinstance(expected, ma.Tensor):
            assert not actual.requires_grad and actual.grad is None
    elif isinstance(expected, float) and expected != expected:
        assert actual != actual, f"{where}: expected nan"
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def round_trip(obj):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "state.ma")
        save(obj, path)
        assert os.listdir(directory) == ["state.ma"]
        return load(path)


DTYPES = ["float32", "float64", "int64", "int8", "uint16", "bool", "complex128", "float16"]
arrays = st.sampled_from(DTYPES).flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0,
                                                     max_side=4)))
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    arrays, arrays.map(ma.Tensor),
    st.sampled_from([np.float32(1.5), np.int64(-3), np.bool_(True), np.float64(0.1)]))
structures = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=5), st.integers(-5, 100)), children,
                        max_size=4)),
    max_leaves=12)


@settings(max_examples=40)
@given(structures)
def test_round_trip_is_exact(obj):
    assert_identical(round_trip(obj), obj)


def test_a_typical_checkpoint_round_trips():
    checkpoint = {
        "model": {"embed.weight": ma.tensor(np.arange(6.0).reshape(2, 3)),
                  "norm.bias": ma.tensor(np.zeros(3, dtype=np.float32), requires_grad=True)},
        "optimizer": {"state": {0: {"step": 3, "exp_avg": np.ones((2, 3))}},
                      "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.98), "amsgrad": False,
                                        "weight_decay": 0, "params": [0, 1]}]},
        "config": {"d_model": 64, "dropout": 0.1, "activation": "gelu", "norm_first": True,
                   "max_len": None, "shape": (2, 3), "1": "a string key", 1: "an int key"},
        "loss": np.float32(2.5), "step": 10**20,
    }
    loaded = round_trip(checkpoint)
    assert_identical(loaded, checkpoint)
    assert type(loaded["model"]["embed.weight"]) is ma.Tensor
    assert type(loaded["optimizer"]["state"][0]["exp_avg"]) is np.ndarray
    assert loaded["model"]["embed.weight"].detach().numpy().flags.writeable
    assert loaded["optimizer"]["state"][0]["exp_avg"].flags.writeable


def test_shared_tensors_and_arrays_stay_shared():
    weight, array = ma.tensor(np.ones((2, 2))), np.arange(3)
    loaded = round_trip({"embed": weight, "head": weight, "a": [array, (array,)]})
    assert loaded["embed"] is loaded["head"]
    assert loaded["a"][0] is loaded["a"][1][0]


def test_non_contiguous_arrays_round_trip():
    array = np.arange(24.0).reshape(2, 3, 4).transpose(2, 0, 1)[::2]
    assert_identical(round_trip([array, ma.Tensor(array)]), [array, ma.Tensor(array)])


def test_optimizer_continues_identically_after_save_and_load(tmp_path):
    rng = np.random.default_rng(0)
    inits = [rng.standard_normal(s) for s in [(3, 2), (4,)]]
    grads = [[rng.standard_normal(a.shape) for a in inits] for _ in range(12)]

    def make(params):
        opt = optim.Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}],
                         lr=0.01, amsgrad=True, weight_decay=0.1)
        return opt, optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)

    def train(params, opt, sched, steps):
        for step_grads in steps:
            for p, g in zip(params, step_grads):
                p.grad = g.copy()
            opt.step()
            sched.step()

    straight = [leaf(a) for a in inits]
    train(straight, *make(straight), grads)

    first = [leaf(a) for a in inits]
    opt, sched = make(first)
    train(first, opt, sched, grads[:5])
    save({"params": first, "optim": opt.state_dict(), "sched": sched.state_dict()},
         tmp_path / "checkpoint.ma")

    loaded = load(tmp_path / "checkpoint.ma")
    resumed = [leaf(t.detach().numpy()) for t in loaded["params"]]
    opt, sched = make(resumed)
    opt.load_state_dict(loaded["optim"])
    sched.load_state_dict(loaded["sched"])
    train(resumed, opt, sched, grads[5:])
    for s, r in zip(straight, resumed):
        np.testing.assert_array_equal(r.detach().numpy(), s.detach().numpy())


@pytest.mark.parametrize("bad,match", [
    ({"x": object()}, "type object"),
    ({"x": {1, 2}}, "type set"),
    ({"x": np.array([1, "a"], dtype=object)}, "array of Python objects"),
    ({"x": ma.Tensor._make(np.array([None]), None)}, "array of Python objects"),
    ({(1, 2): 3}, "dict key"),
    ({True: 3}, "dict key"),
    ([1, 2.0, {"deep": [None, 1j]}], r"obj\[2\]\['deep'\]\[1\] of type complex"),
])
def test_unsavable_objects_are_refused_and_leave_the_old_file(tmp_path, bad, match):
    path = tmp_path / "state.ma"
    save({"old": 1}, path)
    with pytest.raises(SerializationError, match=match):
        save(bad, path)
    assert os.listdir(tmp_path) == ["state.ma"]
    assert load(path) == {"old": 1}


def test_a_cycle_is_refused(tmp_path):
    cycle = [1]
    cycle.append(cycle)
    with pytest.raises(SerializationError, match="contains itself"):
        save(cycle, tmp_path / "x.ma")
    assert os.listdir(tmp_path) == []


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "state.ma"
    save({"old": 1}, path)

    def savez_then_fail(file, *args, **kwargs):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("No space left on device")

    monkeypatch.setattr(np, "savez", savez_then_fail)
    with pytest.raises(OSError, match="No space"):
        save({"new": ma.tensor(np.ones(3))}, path)
    assert os.listdir(tmp_path) == ["state.ma"]
    monkeypatch.undo()
    assert load(path) == {"old": 1}


def test_the_path_is_used_as_given(tmp_path):
    save([1], tmp_path / "model.pt")
    assert os.listdir(tmp_path) == ["model.pt"]
    assert load(str(tmp_path / "model.pt")) == [1]


# -- refusing bad files ------------------------------------------------------------

def saved_bytes(obj):
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "x.ma")
        save(obj, path)
        with open(path, "rb") as f:
            return f.read()


SAMPLE = {"w": ma.tensor(np.linspace(-1, 1, 64).reshape(8, 8)), "step": 3, "name": "gpt"}


def test_truncated_files_are_refused(tmp_path):
    data = saved_bytes(SAMPLE)
    path = tmp_path / "x.ma"
    for cut in [0, 3, 10, 100, len(data) // 2, len(data) - 30, len(data) - 1]:
        path.write_bytes(data[:cut])
        with pytest.raises(SerializationError):
            load(path)


def test_a_flipped_byte_in_the_array_data_is_refused(tmp_path):
    data = bytearray(saved_bytes(SAMPLE))
    offset = data.find(np.linspace(-1, 1, 64)[20:22].tobytes())
    assert offset > 0
    data[offset + 3] ^= 0xFF
    path = tmp_path / "x.ma"
    path.write_bytes(bytes(data))
    with pytest.raises(SerializationError, match="CRC"):
        load(path)


def rewrite(path, structure=None, **arrays):
    """Write an archive the way save does, with the given JSON text and arrays."""
    entries = dict(arrays)
    if structure is not None:
        entries["structure"] = np.frombuffer(structure.encode("utf-8"), dtype=np.uint8)
    np.savez(path, **entries)


def header(root):
    return json.dumps({"format": "microattn", "version": 1, "root": root})


@pytest.mark.parametrize("structure,arrays,match", [
    ('{"format": "microattn", "version": 1, "root": ', {}, "corrupt"),
    (header({"tensor": 1}), {"arr_0": np.ones(2)}, "missing array 'arr_1'"),
    (header({"tensor": "0"}), {"arr_0": np.ones(2)}, "unexpected node"),
    (header({"pickle": 0}), {"arr_0": np.ones(2)}, "unexpected node"),
    (header({"list": [1], "tuple": [2]}), {}, "unexpected node"),
    (header({"dict": [[[1], 2]]}), {}, "dict item"),
    (header({"dict": [[True, 2]]}), {}, "dict item"),
    (header({"float": "one"}), {}, "not a float"),
    (header(1.5), {}, "unexpected node"),
    (header({"list": []}).replace("1", "2", 1), {}, "version 2"),
    (json.dumps({"root": 1}), {}, "header"),
    (json.dumps([1]), {}, "header"),
    ('{"format": "microattn", "version": 1, "root": NaN}', {}, "NaN"),
    (header({"list": []}), {"arr_0": np.ones(2)}, "not referenced"),
    (header({"scalar": 0}), {"arr_0": np.ones(2)}, "expected ()"),
    (None, {"arr_0": np.ones(2)}, "no 'structure'"),
])
def test_tampered_structure_is_refused(tmp_path, structure, arrays, match):
    path = tmp_path / "x.npz"
    rewrite(path, structure, **arrays)
    with pytest.raises(SerializationError, match=match):
        load(path)


def test_a_structure_that_is_not_utf8_bytes_is_refused(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, structure=np.array(header(None)))
    with pytest.raises(SerializationError, match="dtype '<U51'; only numeric and bool"):
        load(path)
    np.savez(path, structure=np.frombuffer(header(None).encode(), dtype=np.int8))
    with pytest.raises(SerializationError, match="not a 1-d uint8 array"):
        load(path)
    np.savez(path, structure=np.frombuffer(b"\xff\xfe{", dtype=np.uint8))
    with pytest.raises(SerializationError, match="UnicodeDecodeError"):
        load(path)


# A pickle that, if it were ever loaded, would record that it ran.
UNPICKLED = []


def record_that_code_ran():
    UNPICKLED.append("code ran")


class Canary:
    def __reduce__(self):
        return (record_that_code_ran, ())


def test_object_arrays_in_a_file_are_refused_without_unpickling(tmp_path):
    path = tmp_path / "x.npz"
    # numpy's savez pickles object arrays by default: exactly what load must never read.
    np.savez(path, arr_0=np.array([Canary(), 1], dtype=object),
             structure=np.frombuffer(header({"ndarray": 0}).encode(), dtype=np.uint8))
    with pytest.raises(SerializationError, match=r"dtype '\|O'; only numeric and bool"):
        load(path)
    assert UNPICKLED == []
    # The canary is live: numpy with pickling allowed does run it.
    with np.load(path, allow_pickle=True) as archive:
        archive["arr_0"]
    assert UNPICKLED == ["code ran"]
    UNPICKLED.clear()


def test_a_pickle_file_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "x.ma"
    path.write_bytes(pickle.dumps({"w": Canary()}))
    with pytest.raises(SerializationError, match="not a microattn save"):
        load(path)
    path.write_bytes(b"")
    with pytest.raises(SerializationError):
        load(path)
    assert UNPICKLED == []


def test_a_plain_npy_file_is_refused(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones(3))
    with pytest.raises(SerializationError, match="not an npz"):
        load(path)


def test_serialization_error_is_a_value_error():
    assert issubclass(SerializationError, ValueError)


torch = pytest.importorskip("torch")


STATE = {"w": ma.tensor(np.arange(6.0).reshape(2, 3)), "step": 7}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
@pytest.mark.parametrize("bits", [0o600, 0o640, 0o604, 0o660])
def test_resaving_keeps_the_files_permission_bits_like_torch(tmp_path, bits):
    ours, theirs = tmp_path / "ours.ma", tmp_path / "theirs.pt"
    for path, write in [(ours, lambda p: save(STATE, p)),
                        (theirs, lambda p: torch.save({"step": 7}, p))]:
        write(path)
        os.chmod(path, bits)
        write(path)
        assert mode(path) == bits, f"{path.name}: {oct(mode(path))}"
    assert_identical(load(ours), STATE)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_new_file_gets_the_default_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        save(STATE, tmp_path / "new.ma")
        torch.save(STATE["step"], tmp_path / "new.pt")
    finally:
        os.umask(umask)
    assert mode(tmp_path / "new.ma") == mode(tmp_path / "new.pt") == 0o644


def test_save_fsyncs_the_file_then_the_directory_after_replacing(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def replace(src, dst):
        events.append("replace")
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    save(STATE, tmp_path / "x.ma")
    assert events == ["fsync file", "replace", "fsync dir"]


@pytest.mark.parametrize("where", ["savez", "fsync", "replace"])
@pytest.mark.parametrize("interruption", [KeyboardInterrupt, OSError, SystemExit])
def test_an_interrupted_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch,
                                                                  where, interruption):
    path = tmp_path / "state.ma"
    save({"old": 1}, path)
    real = {"savez": np.savez, "fsync": os.fsync, "replace": os.replace}[where]

    def interrupted(*args, **kwargs):
        if where == "savez":
            args[0].write(b"PK\x03\x04 part of an archive")
        raise interruption()

    monkeypatch.setattr(np if where == "savez" else os, where, interrupted)
    with pytest.raises(interruption):
        save(STATE, path)
    monkeypatch.setattr(np if where == "savez" else os, where, real)
    assert os.listdir(tmp_path) == ["state.ma"]
    assert load(path) == {"old": 1}


@pytest.mark.parametrize("kind", [list, tuple, lambda x: {"k": x}])
def test_deep_nesting_is_a_serialization_error_not_a_recursion_error(tmp_path, kind):
    deep = 1
    for _ in range(5000):
        deep = kind([deep]) if kind in (list, tuple) else kind(deep)
    with pytest.raises(SerializationError, match=f"MAX_DEPTH={MAX_DEPTH}"):
        save(deep, tmp_path / "deep.ma")
    assert os.listdir(tmp_path) == []


def test_nesting_up_to_max_depth_round_trips(tmp_path):
    deep = [ma.tensor(np.ones(2))]
    for i in range(MAX_DEPTH - 1):
        deep = {"level": deep} if i % 2 else [deep]
    save(deep, tmp_path / "deep.ma")
    assert_identical(load(tmp_path / "deep.ma"), deep)
    with pytest.raises(SerializationError, match="MAX_DEPTH"):
        save([deep], tmp_path / "deeper.ma")


@pytest.mark.parametrize("map_location", [
    None, "cpu", "cpu:0", torch.device("cpu"), {"cuda:0": "cpu"},
    {"cuda:1": torch.device("cpu")}, lambda storage, location: storage])
@pytest.mark.parametrize("weights_only", [None, True, False])
def test_load_takes_torch_loads_arguments(tmp_path, map_location, weights_only):
    save(STATE, tmp_path / "x.ma")
    loaded = load(tmp_path / "x.ma", map_location=map_location, weights_only=weights_only)
    assert_identical(loaded, STATE)
    assert_identical(ma.load(tmp_path / "x.ma", map_location, weights_only=weights_only), STATE)


@pytest.mark.parametrize("map_location", ["cuda", "cuda:0", torch.device("cuda", 1), "mps",
                                          {"cpu": "cuda:0"}])
def test_load_onto_another_device_is_a_clear_error(tmp_path, map_location):
    save(STATE, tmp_path / "x.ma")
    with pytest.raises(RuntimeError, match="microattn runs on the CPU only"):
        load(tmp_path / "x.ma", map_location=map_location)


def test_fortran_ordered_and_byte_swapped_arrays_round_trip(tmp_path):
    arrays = [np.asfortranarray(np.arange(12.0).reshape(3, 4)),
              np.arange(5, dtype=">i4"), np.zeros((0, 3), dtype=np.float16),
              np.array(True), np.arange(4, dtype=np.complex64)]
    save(arrays, tmp_path / "x.ma")
    loaded = load(tmp_path / "x.ma")
    assert_identical(loaded, arrays)
    assert all(a.flags.writeable for a in loaded)


@pytest.mark.parametrize("bad", [np.array(["a"]), np.array([b"a"]), np.zeros(2, "V4"),
                                 np.zeros(2, [("a", "f4")]), np.array([1], "M8[s]"),
                                 np.bytes_(b"x")])
def test_arrays_load_would_refuse_are_refused_when_saving(tmp_path, bad):
    with pytest.raises(SerializationError, match="only numeric and bool arrays are saved"):
        save({"x": bad}, tmp_path / "x.ma")
    assert os.listdir(tmp_path) == []


def test_the_default_cap_is_documented_and_generous():
    assert serialization.MAX_BYTES == 16 * 2**30
    assert "max_bytes" in load.__doc__ and "MAX_BYTES" in serialization.__doc__


def test_file_objects_work_as_in_torch(tmp_path):
    buffer = io.BytesIO()
    save(STATE, buffer)
    assert_identical(load(io.BytesIO(buffer.getvalue())), STATE)
    buffer.seek(0)
    assert_identical(load(buffer), STATE)
    with open(tmp_path / "x.ma", "wb") as f:
        save(STATE, f)
    with open(tmp_path / "x.ma", "rb") as f:
        assert_identical(load(f, map_location="cpu"), STATE)
    # torch's own habit, for comparison: a BytesIO round trip.
    torch_buffer = io.BytesIO()
    torch.save({"step": 7}, torch_buffer)
    torch_buffer.seek(0)
    assert torch.load(torch_buffer) == {"step": 7}


def test_bad_file_objects_are_refused(tmp_path):
    damaged = io.BytesIO()
    save(STATE, damaged)
    with pytest.raises(SerializationError, match="<file object>.*CRC"):
        data = bytearray(damaged.getvalue())
        data[data.find(np.arange(6.0).tobytes()) + 5] ^= 1
        load(io.BytesIO(bytes(data)))
    (tmp_path / "x.ma").write_bytes(damaged.getvalue())
    with open(tmp_path / "x.ma") as text:
        with pytest.raises(TypeError, match="binary file"):
            load(text)

    class Stream(io.RawIOBase):   # a pipe or socket: no seeking
        def readable(self):
            return True

        def readinto(self, b):
            return 0

    with pytest.raises(SerializationError, match="seek"):
        load(Stream())
