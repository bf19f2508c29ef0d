"""``save(obj, path)`` and ``load(path)``: numpy's npz plus JSON, never pickle.

What can be saved: dicts (str or int keys), lists and tuples, nested in any
way, holding Tensors, ndarrays, numpy scalars, Python ints, floats, bools,
strings and None -- a model's state dict, an optimiser's, a config. Each
comes back as the same type with the same value (a Tensor comes back as a
Tensor with ``requires_grad=False``; dict subclasses as dict; tuple
subclasses as tuple).

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

Safety: nothing is ever unpickled. Object arrays are refused when saving and
when loading (the file is read with ``allow_pickle=False``); a file that is
truncated, altered or not in this format raises :class:`SerializationError`.
The file is written to a temporary file in the same directory and moved into
place (``os.replace``), so a failed save never leaves a partial file and
never clobbers the previous one.
"""
import json
import os
import secrets
import zipfile

import numpy as np

from .autograd import Tensor

FORMAT, VERSION = "microattn", 1
_STRUCTURE = "structure"


class SerializationError(ValueError):
    """An object that cannot be saved, or a file that is not a valid microattn save."""


def save(obj, path):
    """Write ``obj`` (nested dicts/lists/tuples of tensors, arrays and plain
    values) to ``path``, atomically. The path is used as given (no suffix added)."""
    encoder = _Encoder()
    root = encoder.encode(obj, "obj")
    text = json.dumps({"format": FORMAT, "version": VERSION, "root": root}, allow_nan=False)
    structure = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)

    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as f:
            np.savez(f, *encoder.arrays, **{_STRUCTURE: structure})
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load(path):
    """Read what :func:`save` wrote. Raises :class:`SerializationError` if the
    file is not a complete, unaltered microattn save."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise SerializationError(f"{path}: not a microattn save (not an npz/zip archive)")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as archive:
                return _Decoder(archive, path).decode_file()
        except SerializationError:
            raise
        except (ValueError, KeyError, IndexError, TypeError, OSError, EOFError,
                RecursionError, zipfile.BadZipFile) as error:
            raise SerializationError(f"{path}: corrupt or truncated save "
                                     f"({type(error).__name__}: {error})") from error


class _Encoder:
    """Turns an object into a JSON-able node, collecting its arrays in ``arrays``."""

    def __init__(self):
        self.arrays = []
        self._entries = {}   # id of a tensor or array -> its entry number
        self._open = set()   # ids of the containers being encoded, to catch cycles

    def encode(self, obj, where):
        if obj is None or isinstance(obj, bool):
            return obj
        if isinstance(obj, str):
            return str(obj)
        if isinstance(obj, Tensor):
            return {"tensor": self._entry(obj, obj.data, where)}
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
            self._open.add(id(obj))
            try:
                return self._encode_container(obj, where)
            finally:
                self._open.discard(id(obj))
        raise SerializationError(
            f"cannot save {where} of type {type(obj).__name__}: expected a Tensor, ndarray, "
            f"number, bool, str, None, or a dict/list/tuple of these")

    def _encode_container(self, obj, where):
        if isinstance(obj, dict):
            items = []
            for key, value in obj.items():
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise SerializationError(f"cannot save {where}: dict key {key!r} is a "
                                             f"{type(key).__name__}; expected str or int keys")
                key = str(key) if isinstance(key, str) else int(key)
                items.append([key, self.encode(value, f"{where}[{key!r}]")])
            return {"dict": items}
        kind = "tuple" if isinstance(obj, tuple) else "list"
        return {kind: [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}

    def _entry(self, obj, array, where):
        if id(obj) in self._entries:
            return self._entries[id(obj)]
        if array.dtype.hasobject:
            raise SerializationError(f"cannot save {where}: it is an array of Python objects "
                                     f"(dtype {array.dtype}), which only pickle could store")
        self._entries[id(obj)] = len(self.arrays)
        self.arrays.append(array)
        return len(self.arrays) - 1


class _Decoder:
    """Rebuilds the object from an open archive, checking every node."""

    def __init__(self, archive, path):
        self.archive, self.path = archive, path
        self.names = set(archive.files)
        self._loaded = {}   # (kind, entry number) -> the object, so shared ones stay shared

    def fail(self, message):
        return SerializationError(f"{self.path}: not a valid microattn save: {message}")

    def decode_file(self):
        if _STRUCTURE not in self.names:
            raise self.fail(f"no '{_STRUCTURE}' entry")
        raw = self.archive[_STRUCTURE]
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise self.fail(f"the '{_STRUCTURE}' entry is not a 1-d uint8 array")
        header = json.loads(raw.tobytes().decode("utf-8"), parse_constant=self._no_constant)
        if not isinstance(header, dict) or header.get("format") != FORMAT or "root" not in header:
            raise self.fail("the structure is not a microattn header")
        if header.get("version") != VERSION:
            raise self.fail(f"format version {header.get('version')!r}; "
                            f"this microattn reads version {VERSION}")
        obj = self.decode(header["root"])
        unused = self.names - {_STRUCTURE} - {f"arr_{i}" for _, i in self._loaded}
        if unused:
            raise self.fail(f"arrays {sorted(unused)} are not referenced by the structure")
        return obj

    def _no_constant(self, name):
        raise self.fail(f"the structure contains the non-JSON constant {name}")

    def decode(self, node):
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
        if kind in ("list", "tuple") and isinstance(value, list):
            items = [self.decode(v) for v in value]
            return items if kind == "list" else tuple(items)
        if kind == "dict" and isinstance(value, list):
            return {self._key(pair): self.decode(pair[1]) for pair in value}
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
        try:
            array = self.archive[name]
        except ValueError as error:   # e.g. an object array, refused by allow_pickle=False
            raise self.fail(f"array {name!r} cannot be read safely: {error}") from error
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
