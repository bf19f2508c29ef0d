"""A run's task file, kept with the run: ``train`` copies it into the run folder
(``task/NAME.py``) and records its sha256 in ``task.json``, signed with a key that
only this machine's user has (``~/.config/microattn/run-key``, made on first use).

A run folder is data people share, and importing a task file runs its code. So
a command opening a run imports a task file only when the record is signed
here and the copy still has its hash; anything else (a run made elsewhere, an
edited copy, a folder without a record) is refused in one line unless the user
passes ``--trust-task``. ``--resume`` also compares the task file the run was
started from with the copy, and refuses a changed one (saying which line
changed) unless ``--task-changed-ok``: one run, one task.
"""
import difflib
import hashlib
import hmac
import json
import os
import pathlib
import secrets

from ..data import TaskError, file_hash, is_task_file, load_task
from ..files import write_atomic

RECORD, COPY_DIR = "task.json", "task"
KEY_BYTES = 32


def key_path():
    """Where this user's run key lives ($XDG_CONFIG_HOME or ~/.config, then microattn/)."""
    root = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return pathlib.Path(root) / "microattn" / "run-key"


def _key(create):
    path = key_path()
    try:
        key = path.read_bytes()
        if len(key) == KEY_BYTES:
            return key
    except OSError:
        pass
    if not create:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, secrets.token_bytes(KEY_BYTES))
        os.chmod(path, 0o600)
        return path.read_bytes()
    except OSError:
        return None     # no key: runs made here must then be opened with --trust-task


def _sign(digest, create=False):
    key = _key(create)
    return None if key is None else hmac.new(key, digest.encode("ascii"), hashlib.sha256).hexdigest()


def record_task(directory, task):
    """Copy ``task``'s file (if it is one) into ``directory`` with its signed hash."""
    if not is_task_file(task.source):
        return
    source = pathlib.Path(task.source)
    content = source.read_bytes()
    copy = pathlib.Path(COPY_DIR) / source.name
    (directory / COPY_DIR).mkdir(exist_ok=True)
    write_atomic(directory / copy, content)
    digest = hashlib.sha256(content).hexdigest()
    record = {"file": str(source), "copy": str(copy), "sha256": digest,
              "signature": _sign(digest, create=True)}
    write_atomic(directory / RECORD, json.dumps(record, indent=2) + "\n")


def _read_record(directory):
    try:
        record = json.loads((directory / RECORD).read_text(encoding="utf-8"))
        copy = directory / record["copy"]
        if pathlib.Path(record["copy"]).is_absolute() or ".." in pathlib.Path(record["copy"]).parts:
            return None
        return record, copy
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _trusted(record, copy):
    try:
        digest = file_hash(copy)
    except OSError:
        return False
    signature = _sign(digest)
    return (digest == record.get("sha256") and signature is not None
            and hmac.compare_digest(signature, str(record.get("signature"))))


def what_changed(old, new):
    """One phrase: the first line that differs between two texts, and how many do."""
    old_lines, new_lines = old.splitlines(), new.splitlines()
    changed = [op for op in difflib.SequenceMatcher(None, old_lines, new_lines).get_opcodes()
               if op[0] != "equal"]
    if not changed:
        return "only its whitespace at line ends changed"
    _, i1, i2, j1, j2 = changed[0]
    was = old_lines[i1].strip() if i1 < i2 else "(nothing)"
    now = new_lines[j1].strip() if j1 < j2 else "(removed)"
    more = f" and {len(changed) - 1} more place(s)" if len(changed) > 1 else ""
    return f"line {j1 + 1} was {was[:60]!r}, now {now[:60]!r}{more}"


class UntrustedTask(TaskError):
    """A run's task file that this machine did not record: running it needs --trust-task."""


def open_task(directory, config, trust=False, resuming=False, changed_ok=False):
    """The Task of the run in ``directory`` (config: its Config), imported only from a
    file this machine recorded (see the module's docstring)."""
    if not is_task_file(config.task):
        return load_task(config.task, text=config.text)
    directory = pathlib.Path(directory)
    found = _read_record(directory)
    if found is None:
        if not trust:
            raise UntrustedTask(f"{directory} names the task file {config.task!r} but holds no "
                                f"record of it ({RECORD}): running it would execute its code; "
                                f"read it, then pass --trust-task")
        return load_task(config.task, text=config.text)
    record, copy = found
    if not trust and not _trusted(record, copy):
        raise UntrustedTask(f"{copy} was not recorded by microattn train on this machine (or "
                            f"was changed since): running it would execute its code; read "
                            f"it, then pass --trust-task")
    original = pathlib.Path(record["file"])
    current = file_hash(original) if original.is_file() else None
    if resuming and current is not None and current != record["sha256"]:
        if not changed_ok:
            change = what_changed(copy.read_text(errors="replace"),
                                  original.read_text(errors="replace"))
            raise TaskError(f"the task file {str(original)!r} changed since the run started "
                            f"({change}); resuming would train one run on two tasks: "
                            f"pass --task-changed-ok if that is what you want")
        task = load_task(original, text=config.text)
        record_task(directory, task)
        return task
    if current == record["sha256"]:
        return load_task(original, text=config.text)   # its helper modules sit beside it
    return load_task(copy, text=config.text, helpers=original.parent)
