"""``save(obj, path)`` and ``load(path)``: numpy's npz plus JSON, never pickle.

What can be saved: dicts (str or int keys), lists and tuples, nested up to
:data:`MAX_DEPTH` deep, holding Tensors, ndarrays and numpy scalars (numeric
or bool), Python ints, floats, bools, strings and None -- a model's state
dict, an optimiser's, a config. Each comes back as the same type with the
same value (a Tensor comes back as a Tensor with ``requires_grad=False``;
dict subclasses as dict; tuple subclasses as tuple).

File format (version 1)
-----------------------
A zip archive written by ``numpy.savez`` (uncompressed), holding

- ``arr_0.npy``, ``arr_1.npy``, ...: the arrays, in numpy's .npy format;
- ``structure.npy``: a 1-d uint8 array, the UTF-8 bytes of the JSON text
  ``{"format": "microattn", "version": 1, "root": NODE}``, where NODE is one of

  ====================================  ===========================================
  ``null``, ``true``, ``false``         None, True, False
  an integer, a string                  int, str (JSON keeps them apart from the rest)
  ``{"float": "1.5"}``                  float, as its repr (exact for every float, inf, nan)
  ``{"list": [NODE, ...]}``             list
  ``{"tuple": [NODE, ...]}``            tuple
  ``{"dict": [[KEY, NODE], ...]}``      dict, in order; KEY is a string or an integer
  ``{"ndarray": i}``                    the ndarray in ``arr_<i>.npy``
  ``{"tensor": i}``                     a Tensor holding ``arr_<i>.npy``
  ``{"scalar": i}``                     a numpy scalar (``np.float32(0.5)``), 0-d ``arr_<i>.npy``
  ====================================  ===========================================

An array or tensor that appears more than once (tied weights) is stored
once, and loads as one object shared in the same places.

Safety: nothing is ever unpickled, and ``load`` reads only what ``save``
writes, checking everything before it allocates:

- the archive holds only ``structure.npy`` and ``arr_<i>.npy``, each once,
  stored uncompressed and unencrypted (so no member can expand, and none can
  be larger than the file itself);
- each member's .npy header declares a numeric or bool dtype (kinds ``b i u f
  c``: no strings, void, objects or zero-sized items) and a shape whose size
  (elements x itemsize) plus the header is exactly the member's real size in
  the archive, read before any array is allocated;
- all members together hold at most ``max_bytes`` (default
  :data:`MAX_BYTES`, 16 GiB; pass a larger value to load a larger file);
- containers nest at most :data:`MAX_DEPTH` deep, when saving and loading.

A file that breaks any rule, or is truncated or altered (every member's CRC
is checked), raises :class:`SerializationError` saying what was wrong; no
exception from zipfile, zlib, numpy or JSON escapes it. So a hostile file of
N bytes makes ``load`` allocate at most N bytes of arrays, plus the Python
objects of its JSON structure (a few tens of bytes per byte of JSON at
worst), in time linear in N.

``save`` writes a temporary file in the same directory, fsyncs it, moves it
into place (``os.replace``) and fsyncs the directory, so a failed or
interrupted save (KeyboardInterrupt included) never leaves a partial file
and never clobbers the previous one. Re-saving over a file keeps its
permission bits (a 0600 checkpoint stays 0600).
"""
import json
import os
import re
import struct
import zipfile
import zlib

import numpy as np

from .core import Tensor
from .files import atomic_path

FORMAT, VERSION = "microattn", 1
_STRUCTURE = "structure"
MAX_BYTES = 16 * 2**30   # load's default cap on the bytes of all arrays together
MAX_DEPTH = 100          # how deep containers may nest (a checkpoint nests 3 or 4 deep)
_MEMBER = re.compile(r"(structure|arr_(?:0|[1-9][0-9]*))\.npy")
_ARRAY_KINDS = "biufc"   # bool, signed and unsigned int, float, complex


class SerializationError(ValueError):
    """An object that cannot be saved, or a file that is not a valid microattn save."""


def save(obj, path):
    """Write ``obj`` (nested dicts/lists/tuples of tensors, arrays and plain
    values) to ``path``, atomically. The path is used as given (no suffix added);
    an existing file there keeps its permission bits. ``path`` may also be a
    binary file object open for writing (``io.BytesIO()``, ``open(p, "wb")``), as
    ``torch.save`` takes; the save is then written into it as it is."""
    encoder = _Encoder()
    root = encoder.encode(obj, "obj", 0)
    text = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    structure = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    if hasattr(path, "write"):
        np.savez(path, *encoder.arrays, **{_STRUCTURE: structure})
        return

    with atomic_path(path) as temporary:
        with open(temporary, "wb") as f:
            np.savez(f, *encoder.arrays, **{_STRUCTURE: structure})


def load(path, map_location=None, weights_only=None, max_bytes=MAX_BYTES):
    """Read what :func:`save` wrote. Raises :class:`SerializationError` if the
    file is not a complete, unaltered microattn save, or if its arrays hold
    more than ``max_bytes`` bytes together (raise it to load larger files).

    ``path`` may also be a binary file object open for reading, with ``seek``
    (``io.BytesIO(data)``, ``open(p, "rb")``), holding just the save.
    ``map_location`` and ``weights_only`` are accepted as ``torch.load`` takes
    them, and change nothing: everything loads on the CPU (``None``, ``"cpu"``,
    ``torch.device("cpu")``, a dict mapping to ``"cpu"``, or a function; any
    other device raises RuntimeError), and a load never runs code (always
    "weights only").
    """
    _check_map_location(map_location)
    if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 0:
        raise TypeError(f"load(): max_bytes must be a non-negative int, got {max_bytes!r}")
    if hasattr(path, "read"):
        if not isinstance(path.read(0), bytes):
            raise TypeError("load() needs a binary file: open it with open(path, 'rb')")
        if not (hasattr(path, "seekable") and path.seekable()):
            raise SerializationError("load() needs a file it can seek in (a zip archive is "
                                     "read from its end): pass a path, or io.BytesIO(data)")
        return _load_from(path, getattr(path, "name", "<file object>"), max_bytes)
    path = os.fspath(path)
    with open(path, "rb") as f:
        return _load_from(f, path, max_bytes)


def _load_from(f, path, max_bytes):
    f.seek(0)
    if f.read(4) != b"PK\x03\x04":
        raise SerializationError(f"{path}: not a microattn save (not an npz/zip archive)")
    try:
        arrays = _read_archive(f, path, max_bytes)
        return _Decoder(arrays, path).decode_file()
    except SerializationError:
        raise
    except Exception as error:   # zipfile, zlib, numpy, JSON, MemoryError, RecursionError...
        raise SerializationError(f"{path}: corrupt or truncated save "
                                 f"({type(error).__name__}: {error})") from error


def _check_map_location(map_location):
    if map_location is None or callable(map_location):
        return   # a function moves storages between devices; there is only the CPU
    targets = map_location.values() if isinstance(map_location, dict) else [map_location]
    for target in targets:
        if str(target).split(":")[0] != "cpu":
            raise RuntimeError(f"load(): map_location={map_location!r} asks for device "
                               f"{str(target)!r}, but microattn runs on the CPU only: "
                               "pass map_location='cpu' or leave it out")


def _fail(path, message):
    return SerializationError(f"{path}: not a valid microattn save: {message}")


def _read_archive(file, path, max_bytes):
    """``{name: ndarray}`` for every member, each checked before it is allocated."""
    file_size = file.seek(0, os.SEEK_END)
    file.seek(0)
    archive = zipfile.ZipFile(file)
    members, names, total = [], set(), 0
    for info in archive.infolist():
        name = info.filename
        if not _MEMBER.fullmatch(name):
            raise _fail(path, f"unexpected member {name!r} (only structure.npy and "
                              f"arr_<i>.npy are written)")
        if name in names:
            raise _fail(path, f"member {name!r} appears more than once")
        names.add(name)
        if info.flag_bits & 0x1:
            raise _fail(path, f"member {name!r} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            raise _fail(path, f"member {name!r} is compressed (method {info.compress_type}); "
                              f"microattn saves store members uncompressed")
        # 30 bytes of local header and the name precede a member's data.
        if (info.compress_size != info.file_size
                or info.header_offset + 30 + len(name) + info.file_size > file_size):
            raise _fail(path, f"member {name!r} claims {info.file_size} bytes, more than "
                              f"the file holds")
        total += info.file_size
        if total > max_bytes:
            raise _fail(path, f"its arrays hold more than max_bytes={max_bytes} bytes; "
                              f"pass a larger max_bytes to load() if you trust the file")
        members.append(info)
    arrays = {}
    for info in members:
        arrays[info.filename[:-len(".npy")]] = _read_npy(file, archive, info, path)
    return arrays


def _read_npy(file, archive, info, path):
    """One .npy member: the header checked against the member's real size, then
    the data read straight from the file into an array of exactly that size (the
    member is stored, so its bytes are the array's), and the member's CRC checked."""
    name = info.filename
    with archive.open(info) as member:   # zipfile checks the member's local header
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(member)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(member)
        else:
            raise _fail(path, f"member {name!r} has .npy format version {version}")
        header_length = member.tell()
    if (dtype.kind not in _ARRAY_KINDS or dtype.names is not None
            or dtype.subdtype is not None or dtype.itemsize == 0):
        raise _fail(path, f"member {name!r} has dtype {dtype.str!r}; only numeric and bool "
                          f"arrays are saved")
    if any(type(n) is not int or n < 0 for n in shape):
        raise _fail(path, f"member {name!r} has an invalid shape {shape!r}")
    count = 1
    for n in shape:
        count *= n   # Python ints: no overflow
    declared = header_length + count * dtype.itemsize
    if declared != info.file_size:
        raise _fail(path, f"member {name!r} declares shape {shape} of {dtype.str} "
                          f"({declared} bytes with its header), but holds {info.file_size} "
                          f"bytes")
    # The member's data follows its local header: 30 bytes, then the name and the
    # extra field, whose lengths are the header's last two 16-bit fields.
    file.seek(info.header_offset + 26)
    name_length, extra_length = struct.unpack("<HH", file.read(4))
    file.seek(info.header_offset + 30 + name_length + extra_length)
    header = file.read(header_length)
    flat = np.empty(count, dtype)
    raw = flat.view(np.uint8)
    if len(header) != header_length or file.readinto(raw) != raw.size:
        raise _fail(path, f"member {name!r} is truncated")
    if zlib.crc32(raw, zlib.crc32(header)) != info.CRC:
        raise _fail(path, f"member {name!r} fails its CRC check: the file was altered")
    return flat.reshape(shape, order="F" if fortran_order else "C")


class _Encoder:
    """Turns an object into a JSON-able node, collecting its arrays in ``arrays``."""

    def __init__(self):
        self.arrays = []
        self._entries = {}   # id of a tensor or array -> its entry number
        self._open = set()   # ids of the containers being encoded, to catch cycles

    def encode(self, obj, where, depth):
        if obj is None or isinstance(obj, bool):
            return obj
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, Tensor):
            return {"tensor": self._entry(obj, obj._data, where)}
        if isinstance(obj, np.ndarray):
            return {"ndarray": self._entry(obj, obj, where)}
        if isinstance(obj, np.generic):   # before float: np.float64 is a float
            return {"scalar": self._entry(obj, np.asarray(obj), where)}
        if isinstance(obj, int):
            return int(obj)
        if isinstance(obj, float):
            return {"float": float.__repr__(obj)}
        if isinstance(obj, (dict, list, tuple)):
            if id(obj) in self._open:
                raise SerializationError(f"cannot save {where}: it contains itself")
            if depth >= MAX_DEPTH:
                raise SerializationError(f"cannot save {where[:80]}...: containers nest more "
                                         f"than MAX_DEPTH={MAX_DEPTH} deep")
            self._open.add(id(obj))
            try:
                return self._encode_container(obj, where, depth + 1)
            finally:
                self._open.discard(id(obj))
        raise SerializationError(
            f"cannot save {where} of type {type(obj).__name__}: expected a Tensor, ndarray, "
            f"number, bool, str, None, or a dict/list/tuple of these")

    def _encode_container(self, obj, where, depth):
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise SerializationError(f"cannot save {where}: dict key {key!r} is a "
                                             f"{type(key).__name__}; expected str or int keys")
                key = str(key) if isinstance(key, str) else int(key)
                items.append([key, self.encode(value, f"{where}[{key!r}]", depth)])
            return {"dict": items}
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [self.encode(v, f"{where}[{i}]", depth) for i, v in enumerate(obj)]}

    def _entry(self, obj, array, where):
        if id(obj) in self._entries:
            return self._entries[id(obj)]
        if array.dtype.hasobject:
            raise SerializationError(f"cannot save {where}: it is an array of Python objects "
                                     f"(dtype {array.dtype}), which only pickle could store")
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.names is not None:
            raise SerializationError(f"cannot save {where}: an array of dtype {array.dtype}; "
                                     f"only numeric and bool arrays are saved")
        self._entries[id(obj)] = len(self.arrays)
        self.arrays.append(array)
        return len(self.arrays) - 1


class _Decoder:
    """Rebuilds the object from the archive's arrays, checking every node."""

    def __init__(self, arrays, path):
        self.arrays, self.path = arrays, path
        self.names = set(arrays)
        self._loaded = {}   # (kind, entry number) -> the object, so shared ones stay shared

    def fail(self, message):
        return SerializationError(f"{self.path}: not a valid microattn save: {message}")

    def decode_file(self):
        if _STRUCTURE not in self.names:
            raise self.fail(f"no '{_STRUCTURE}' entry")
        raw = self.arrays[_STRUCTURE]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise self.fail(f"the '{_STRUCTURE}' entry is not a 1-d uint8 array")
        header = json.loads(raw.tobytes().decode("utf-8"), parse_constant=self._no_constant)
        if not isinstance(header, dict) or header.get("format") != FORMAT or "root" not in header:
            raise self.fail("the structure is not a microattn header")
        if header.get("version") != VERSION:
            raise self.fail(f"format version {header.get('version')!r}; "
                            f"this microattn reads version {VERSION}")
        obj = self.decode(header["root"], 0)
        unused = self.names - {_STRUCTURE} - {f"arr_{i}" for _, i in self._loaded}
        if unused:
            raise self.fail(f"arrays {sorted(unused)} are not referenced by the structure")
        return obj

    def _no_constant(self, name):
        raise self.fail(f"the structure contains the non-JSON constant {name}")

    def decode(self, node, depth):
        if node is None or isinstance(node, (bool, str)):
            return node
        if isinstance(node, int):
            return node
        if not isinstance(node, dict) or len(node) != 1:
            raise self.fail(f"unexpected node {_preview(node)}")
        (kind, value), = node.items()
        if kind == "float" and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise self.fail(f"{value!r} is not a float") from None
        if kind in ("list", "tuple", "dict") and depth >= MAX_DEPTH:
            raise self.fail(f"containers nest more than MAX_DEPTH={MAX_DEPTH} deep")
        if kind in ("list", "tuple") and isinstance(value, list):
            items = [self.decode(v, depth + 1) for v in value]
            return items if kind == "list" else tuple(items)
        if kind == "dict" and isinstance(value, list):
            return {self._key(pair): self.decode(pair[1], depth + 1) for pair in value}
        if kind in ("tensor", "ndarray", "scalar") and type(value) is int:
            return self._array_object(kind, value)
        raise self.fail(f"unexpected node {_preview(node)}")

    def _key(self, pair):
        if (not isinstance(pair, list) or len(pair) != 2 or isinstance(pair[0], bool)
                or not isinstance(pair[0], (str, int))):
            raise self.fail(f"a dict item must be [str or int key, value], got {_preview(pair)}")
        return pair[0]

    def _array_object(self, kind, index):
        if (kind, index) in self._loaded:
            return self._loaded[kind, index]
        name = f"arr_{index}"
        if name not in self.names:
            raise self.fail(f"the structure refers to a missing array {name!r}")
        array = self.arrays[name]
        if kind == "scalar":
            if array.ndim != 0:
                raise self.fail(f"scalar {name!r} has shape {array.shape}, expected ()")
            obj = array[()]
        elif kind == "tensor":
            obj = Tensor(array)
        else:
            obj = array
        self._loaded[kind, index] = obj
        return obj


def _preview(node, limit=80):
    text = json.dumps(node)
    return text if len(text) <= limit else text[:limit] + "..."
