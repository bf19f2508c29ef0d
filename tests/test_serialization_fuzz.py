"""ma.load against hostile and damaged files: every one either loads exactly what
was saved or raises SerializationError, in bounded time and memory.

- every truncation of a small genuine file;
- thousands of seeded single-bit flips of it, and of copies recompressed with
  deflate, bzip2 and lzma;
- crafted archives: lying .npy headers (huge shapes, zero-size and string
  dtypes), duplicate and foreign members, compressed members, lying zip
  directories, deep JSON;
- the bombs among them loaded in a subprocess under an address-space limit
  and a time limit, reporting their peak memory.
"""
import io
import json
import os
import struct
import subprocess
import sys
import warnings
import zipfile

import numpy as np
import pytest

import microattn as ma
from microattn.serialization import MAX_DEPTH, SerializationError, load, save
from test_serialization import assert_identical

SAMPLE = {"w": ma.tensor(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)),
          "b": np.arange(5), "step": 3, "name": "gpt", "loss": np.float32(1.5),
          "groups": [{"lr": 0.1, "betas": (0.9, 0.999)}]}
FLIPS = 3000               # single-bit flips of the genuine file
FLIPS_PER_COMPRESSION = 300


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    path = tmp_path_factory.mktemp("genuine") / "sample.ma"
    save(SAMPLE, path)
    return path.read_bytes()


def outcome(path, data, **kwargs):
    """'exact' if ``data`` loads as SAMPLE, 'refused' if it raises SerializationError;
    anything else fails the test. Read from a file at ``path``, or from memory
    (faster) if ``path`` is None."""
    if path is not None:
        path.write_bytes(data)
    try:
        loaded = load(io.BytesIO(data) if path is None else path, **kwargs)
    except SerializationError:
        return "refused"
    assert_identical(loaded, SAMPLE)
    return "exact"


def test_every_truncation_is_refused(tmp_path, genuine):
    results = [outcome(None, genuine[:cut]) for cut in range(len(genuine))]
    assert results == ["refused"] * len(genuine)
    assert outcome(None, genuine) == "exact"
    # From a real file the same (test_serialization tries more cuts that way).
    path = tmp_path / "x.ma"
    assert [outcome(path, genuine[:cut]) for cut in (1, len(genuine) // 2)] == ["refused"] * 2
    assert outcome(path, genuine) == "exact"
    print(f"\n{len(genuine)} truncations of a {len(genuine)}-byte file: all refused")


def flipped(data, count, seed):
    """``count`` copies of data, each with one random bit flipped (seeded)."""
    rng = np.random.default_rng(seed)
    for position, bit in zip(rng.integers(0, len(data), count), rng.integers(0, 8, count)):
        copy = bytearray(data)
        copy[position] ^= 1 << int(bit)
        yield bytes(copy)


def test_bit_flips_load_exactly_or_are_refused(genuine):
    results = [outcome(None, data) for data in flipped(genuine, FLIPS, seed=0)]
    # Flips in the zip's unchecked fields (timestamps, version-made-by) change
    # nothing; all others are caught, most by the CRC.
    assert set(results) <= {"exact", "refused"}
    assert results.count("refused") > FLIPS // 2
    print(f"\n{FLIPS} bit flips: {results.count('exact')} exact, "
          f"{results.count('refused')} refused")


def recompressed(data, method):
    """The genuine archive with every member stored with ``method`` instead."""
    source = zipfile.ZipFile(io.BytesIO(data))
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w", compression=method) as archive:
        for info in source.infolist():
            archive.writestr(info.filename, source.read(info))
    return target.getvalue()


COMPRESSIONS = {"deflate": zipfile.ZIP_DEFLATED, "bzip2": zipfile.ZIP_BZIP2,
                "lzma": zipfile.ZIP_LZMA}


@pytest.mark.parametrize("method", COMPRESSIONS)
def test_recompressed_copies_and_their_bit_flips_are_refused(tmp_path, genuine, method):
    data = recompressed(genuine, COMPRESSIONS[method])
    path = tmp_path / "x.ma"
    path.write_bytes(data)
    with pytest.raises(SerializationError, match="is compressed"):
        load(path)
    results = [outcome(None, d) for d in flipped(data, FLIPS_PER_COMPRESSION, seed=1)]
    assert results == ["refused"] * FLIPS_PER_COMPRESSION


# -- crafted archives ----------------------------------------------------------------

def npy(descr, shape, data=b"", fortran_order=False, version=1, header_text=None):
    """A .npy member with a header saying anything, followed by ``data``."""
    text = header_text or repr({"descr": descr, "fortran_order": fortran_order,
                                "shape": shape})
    text = text.encode("latin1")
    length = struct.pack("<H" if version == 1 else "<I", len(text) + 1)
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + b"\n" + data


def structure(root_text):
    text = '{"format": "microattn", "version": 1, "root": ' + root_text + "}"
    raw = text.encode()
    return npy("|u1", (len(raw),), raw)


def archive(members, compression=zipfile.ZIP_STORED):
    """A zip of ``(name, bytes)`` members (duplicates allowed)."""
    file = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # zipfile warns about duplicate names
        with zipfile.ZipFile(file, "w", compression=compression) as zf:
            for name, data in members:
                zf.writestr(name, data)
    return file.getvalue()


def one_array(array_member, root='{"ndarray": 0}'):
    return archive([("arr_0.npy", array_member), ("structure.npy", structure(root))])


def patch_directory(data, offset, fmt, value):
    """Overwrite a field of every central-directory entry (offset from its signature)."""
    data = bytearray(data)
    start = data.find(b"PK\x01\x02")
    while start >= 0:
        struct.pack_into(fmt, data, start + offset, value)
        start = data.find(b"PK\x01\x02", start + 4)
    return bytes(data)


def bomb(method, nbytes):
    """A genuine compressed member: nbytes of zeros as a uint8 array, plus its structure."""
    file = io.BytesIO()
    with zipfile.ZipFile(file, "w", compression=method) as zf:
        with zf.open("arr_0.npy", "w", force_zip64=True) as member:
            member.write(npy("|u1", (nbytes,)))
            zeros = bytes(1 << 20)
            for _ in range(nbytes >> 20):
                member.write(zeros)
        zf.writestr("structure.npy", structure('{"ndarray": 0}'))
    return file.getvalue()


FLOATS = np.arange(4.0).tobytes()
DEEP = 5000
CRAFTED = {
    # Lying shapes: the header promises far more than the member holds.
    "shape-1e12-float64": (one_array(npy("<f8", (10**12,), FLOATS)), "declares shape"),
    "shape-7TB": (one_array(npy("|u1", (7 * 10**12,), FLOATS)), "declares shape"),
    "shape-overflowing-int64": (one_array(npy("<f8", (2**62, 2**62), FLOATS)), "declares shape"),
    "shape-short-by-one": (one_array(npy("<f8", (5,), FLOATS)), "declares shape"),
    "shape-long-by-one": (one_array(npy("<f8", (3,), FLOATS)), "declares shape"),
    "shape-negative": (one_array(npy("<f8", (-4,), FLOATS)), "invalid shape"),
    "shape-bool": (one_array(npy("<f8", (True,), FLOATS[:8])), "invalid shape"),
    # dtypes save never writes.
    "V0-1e15": (one_array(npy("|V0", (10**15,))), "dtype '|V0'"),
    "V4": (one_array(npy("|V4", (8,), FLOATS)), "dtype '|V4'"),
    "U1": (one_array(npy("<U1", (8,), FLOATS)), "dtype '<U1'"),
    "S4": (one_array(npy("|S4", (8,), FLOATS)), "dtype '|S4'"),
    "O": (one_array(npy("|O", (1,), b"\x80\x04N.")), "dtype '|O'"),
    "datetime": (one_array(npy("<M8[s]", (4,), FLOATS)), "dtype '<M8"),
    "structured": (one_array(npy([("a", "<f8")], (4,), FLOATS)), "only numeric and bool"),
    "subarray": (one_array(npy([("", "<f8", (4,))], (1,), FLOATS)), "only numeric and bool"),
    # Broken .npy headers.
    "npy-version-3": (one_array(npy("<f8", (4,), FLOATS, version=3)), "format version"),
    "npy-not-a-dict": (one_array(npy(None, None, FLOATS, header_text="[1, 2]")), "corrupt"),
    "npy-huge-header": (one_array(npy(None, None, header_text=" " * 20000, version=2)),
                        "corrupt"),
    "npy-fortran-not-bool": (one_array(npy("<f8", (4,), FLOATS, fortran_order=1)), "corrupt"),
    # Members save never writes.
    "duplicate-member": (archive([("arr_0.npy", npy("<f8", (4,), FLOATS))] * 2
                                 + [("structure.npy", structure('{"ndarray": 0}'))]),
                         "more than once"),
    "duplicate-after-20k-members": (archive([(f"arr_{i}.npy", b"") for i in range(20_000)]
                                            + [("arr_0.npy", b"")]), "more than once"),
    "duplicate-structure": (archive([("structure.npy", structure("1"))] * 2), "more than once"),
    "text-member": (archive([("notes.txt", b"hello"), ("structure.npy", structure("1"))]),
                    "unexpected member 'notes.txt'"),
    "member-without-suffix": (archive([("arr_0", npy("<f8", (4,), FLOATS)),
                                       ("structure.npy", structure("1"))]), "unexpected member"),
    "member-leading-zero": (archive([("arr_00.npy", npy("<f8", (4,), FLOATS)),
                                     ("structure.npy", structure("1"))]), "unexpected member"),
    "member-path": (archive([("../arr_0.npy", npy("<f8", (4,), FLOATS)),
                             ("structure.npy", structure("1"))]), "unexpected member"),
    "directory-member": (archive([("arr_0.npy/", b""), ("structure.npy", structure("1"))]),
                         "unexpected member"),
    # Compressed members, genuine bombs included (32 MiB of zeros each in 0.5 to 33 KB).
    "deflate-small": (archive([("structure.npy", structure("1"))], zipfile.ZIP_DEFLATED),
                      "is compressed"),
    "deflate-bomb": (bomb(zipfile.ZIP_DEFLATED, 32 << 20), "is compressed"),
    "bzip2-bomb": (bomb(zipfile.ZIP_BZIP2, 32 << 20), "is compressed"),
    "lzma-bomb": (bomb(zipfile.ZIP_LZMA, 32 << 20), "is compressed"),
    # A zip directory that lies: sizes larger than the file, encryption.
    "directory-claims-4GiB": (patch_directory(patch_directory(
        one_array(npy("<f8", (4,), FLOATS)), 20, "<I", 0xFFFFFFF0), 24, "<I", 0xFFFFFFF0),
        "more than the file holds"),
    "directory-says-encrypted": (patch_directory(one_array(npy("<f8", (4,), FLOATS)),
                                                 8, "<H", 1), "encrypted"),
    # Structures save never writes.
    "json-5000-deep": (archive([("structure.npy", structure('{"list": [' * DEEP + "]}" * DEEP))]),
                       "corrupt"),
    "json-over-max-depth": (archive([("structure.npy", structure(
        '{"list": [' * (MAX_DEPTH + 1) + "]}" * (MAX_DEPTH + 1)))]), "MAX_DEPTH"),
    "json-100k-digit-int": (archive([("structure.npy", structure("9" * 100_000))]), "corrupt"),
    # 1 MB of JSON that parses into 80,000 nodes before its last one is refused.
    "json-80k-nodes": (archive([("structure.npy", structure(
        '{"list": [' + '{"list": []}, ' * 80_000 + '{"pickle": 0}]}'))]), "unexpected node"),
    "json-not-utf8": (archive([("structure.npy", npy("|u1", (2,), b"\xff\xfe"))]), "corrupt"),
}


@pytest.mark.parametrize("name", CRAFTED)
def test_crafted_archives_are_refused(tmp_path, name):
    data, match = CRAFTED[name]
    path = tmp_path / f"{name}.ma"
    path.write_bytes(data)
    with pytest.raises(SerializationError, match=match):
        load(path)


def test_max_bytes_caps_what_a_genuine_file_may_hold(tmp_path, genuine):
    path = tmp_path / "x.ma"
    path.write_bytes(genuine)
    assert_identical(load(path, max_bytes=len(genuine)), SAMPLE)
    with pytest.raises(SerializationError, match="pass a larger max_bytes"):
        load(path, max_bytes=200)
    with pytest.raises(TypeError, match="max_bytes"):
        load(path, max_bytes="1GB")


BOMB_CHILD = r"""
import json, resource, sys, time
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from microattn.serialization import SerializationError, load


def peak_kb():
    # VmHWM: this process's peak resident memory (ru_maxrss would include the
    # parent's, from before the exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])


def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")   # resets VmHWM to the current resident size
    except OSError:
        pass


report = {"baseline_kb": peak_kb()}
for path in sys.argv[2:]:
    reset_peak()
    start = time.perf_counter()
    try:
        load(path)
        result = "loaded"
    except SerializationError:
        result = "refused"
    except BaseException as error:
        result = f"{type(error).__name__}: {error}"[:300]
    report[path] = [result, peak_kb(), time.perf_counter() - start]
print(json.dumps(report))
"""
ADDRESS_SPACE = 1 << 30   # 1 GiB: Python with numpy and microattn needs ~120 MB


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is Linux's")
def test_bombs_are_refused_in_bounded_memory_and_time(tmp_path):
    paths = []
    for name, (data, _) in CRAFTED.items():
        paths.append(str(tmp_path / f"{name}.ma"))
        with open(paths[-1], "wb") as f:
            f.write(data)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-c", BOMB_CHILD, str(ADDRESS_SPACE), *paths],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    baseline = report.pop("baseline_kb")
    assert {path: result for path, (result, _, _) in report.items()} == \
        {path: "refused" for path in paths}
    worst = max(report, key=lambda path: report[path][1])
    peak_kb = report[worst][1]
    print(f"\n{len(paths)} hostile files refused under a {ADDRESS_SPACE >> 20} MiB address "
          f"space; worst peak RSS {peak_kb / 1024:.1f} MiB ({os.path.basename(worst)}; "
          f"after imports {baseline / 1024:.1f} MiB); slowest "
          f"{max(s for _, _, s in report.values()) * 1000:.1f} ms; largest file "
          f"{max(os.path.getsize(p) for p in paths)} bytes")
    # Refusing reads no array: the peak stays near the interpreter's own (the
    # largest cost is the 1 MB JSON's Python objects).
    assert peak_kb - baseline < 64 * 1024
