"""ma.save / ma.load around the file: permissions kept, fsyncs, interrupted saves,
deep nesting, file objects, and torch.load's map_location / weights_only arguments."""
import io
import os
import stat

import numpy as np
import pytest

import microattn as ma
from microattn import serialization
from microattn.serialization import MAX_DEPTH, SerializationError, load, save
from test_serialization import assert_identical

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
