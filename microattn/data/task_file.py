"""Loading a task: a built-in module by name, or a user's task file ``*.py``.

A task file is imported with its own folder on ``sys.path`` (so it can import a
helper module beside it); whatever it raises while importing, ``sys.exit()``
included, is a :class:`TaskError` naming the file and the line.
"""
import hashlib
import importlib
import importlib.util
import pathlib
import sys

from .task import Task
from .task_code import TaskError, call, describe, located

BUILT_IN = ("copy", "reverse", "sort", "add", "translate", "recall", "charlm")


def is_task_file(name_or_path):
    """Whether ``name_or_path`` names a file rather than a built-in task."""
    name_or_path = str(name_or_path)
    return name_or_path.endswith(".py") or "/" in name_or_path or "\\" in name_or_path


def file_hash(path):
    """The sha256 of a file's bytes, as hex: what a run records of its task file."""
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _import_file(path, helpers=None):
    if not path.is_file():
        raise TaskError(f"no task file {str(path)!r}")
    module_name = f"microattn_user_task_{hashlib.sha256(str(path).encode()).hexdigest()[:16]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    folders = [str(path.parent)] + ([str(helpers)] if helpers else [])
    sys.path[:0] = folders
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as error:   # a broken user file is bad input
        place = located(error, str(path), f"task file {str(path)!r}")
        raise TaskError(f"cannot import {place}: {describe(error)}") from error
    finally:
        for folder in folders:
            if folder in sys.path:
                sys.path.remove(folder)
    return module


def _configure(module, name, options, built_in):
    if not hasattr(module, "configure"):
        if options:
            raise TaskError(f"task {name} takes no options "
                            f"({', '.join('--' + k for k in options)})")
        return module
    if built_in:
        try:   # a built-in task's refusals are messages for the user, not bugs
            return module.configure(**options)
        except (OSError, ValueError, TypeError) as error:
            raise TaskError(f"task {name}: {error}") from error
    return call(module.configure, **options)


def load_task(name_or_path, helpers=None, **options):
    """A built-in task by name (``copy``, ``reverse``, ...) or a task file ``*.py``.
    ``options`` (e.g. ``text=PATH`` for ``charlm``) go to the task's ``configure``;
    ``helpers``: a folder put on the path beside the file's own while importing it
    (a run's copy of a task file imports its helper modules from the original's)."""
    name_or_path = str(name_or_path)
    options = {k: v for k, v in options.items() if v is not None}
    if is_task_file(name_or_path):
        # Runs remember the file by its absolute path, to be found from anywhere later.
        path = pathlib.Path(name_or_path).resolve()
        module, name, built_in = _import_file(path, helpers), path.stem, False
        source, label = str(path), f"task file {str(path)!r}"
    elif name_or_path in BUILT_IN:
        module = importlib.import_module(f"{__package__}.tasks.{name_or_path}")
        name = source = name_or_path
        built_in, label = True, f"task {name_or_path}"
    else:
        raise TaskError(f"unknown task {name_or_path!r}; built-in tasks: {', '.join(BUILT_IN)} "
                        f"(or give a task file ending in .py)")
    spec = _configure(module, name, options, built_in)
    return Task(spec, name, source=source, label=label)
