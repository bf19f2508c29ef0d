"""A learner's workspace: the exercise files, written from the templates, and
``progress.json``, which remembers what passed (with a digest of the file that
passed), the hints shown, and the training run.

A template holds the reference solution between ``# solution:begin`` and
``# solution:end`` lines; a new workspace gets, in their place, a line raising
NotImplementedError that names the exercise and the function to write
(``--solved`` keeps the solutions).
"""
import hashlib
import json
import re
import sys
import time
import types
from pathlib import Path

from ..files import write_atomic
from .exercises import EXERCISES, TRAIN_TARGET, exercise

TEMPLATES = Path(__file__).parent / "templates"
PROGRESS = "progress.json"
FORMAT = "microattn-learn-progress"
BEGIN, END = "# solution:begin", "# solution:end"
_DEF = re.compile(r"^(\s*)(?:def|class) (\w+)")


class WorkspaceError(ValueError):
    """Not a workspace, or one that cannot be written: bad input, reported in one line."""


def render(text, number, solved):
    """A template's text for a workspace: the solutions kept, or each replaced by a
    ``raise NotImplementedError`` naming exercise ``number`` and the function."""
    if solved:
        return "".join(line for line in text.splitlines(keepends=True)
                       if line.strip() not in (BEGIN, END))
    out, skipping, scope = [], False, {}
    title = exercise(number).title
    for line in text.splitlines(keepends=True):
        match = _DEF.match(line)
        if match:  # remember the enclosing class and function, for the message
            indent = len(match.group(1))
            scope = {k: v for k, v in scope.items() if k < indent}
            scope[indent] = match.group(2)
        if line.strip() == BEGIN:
            skipping = True
            name = ".".join(scope[k] for k in sorted(scope))
            out.append(f"{line[:line.index('#')]}raise NotImplementedError(\"exercise {number} "
                       f"({title}): {name} is not implemented yet\")\n")
        elif line.strip() == END:
            skipping = False
        elif not skipping:
            out.append(line)
    return "".join(out)


class Workspace:
    """The folder ``dir`` holding the exercise files and progress.json."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.progress_path = self.dir / PROGRESS

    @classmethod
    def create(cls, directory, solved=False):
        """Write a new workspace into ``directory`` (new, or an empty folder)."""
        directory = Path(directory)
        if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
            raise WorkspaceError(f"{directory} already exists and is not an empty folder; "
                                 f"choose a new one")
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for ex in EXERCISES:
                text = (TEMPLATES / ex.file).read_text(encoding="utf-8")
                write_atomic(directory / ex.file, render(text, ex.number, solved))
        except OSError as error:
            raise WorkspaceError(f"cannot write the workspace {directory}: "
                                 f"{error.strerror or error}") from None
        workspace = cls(directory)
        workspace.save({"format": FORMAT, "version": 1, "solved": solved, "exercises": {},
                        "hints": {}, "train": None})
        return workspace

    @classmethod
    def open(cls, directory):
        """The workspace in ``directory``; WorkspaceError if there is none."""
        workspace = cls(directory)
        try:
            progress = workspace.progress()
        except (OSError, ValueError):
            progress = None
        if not isinstance(progress, dict) or progress.get("format") != FORMAT:
            raise WorkspaceError(f"{directory} is not a learn workspace (no {PROGRESS}); "
                                 f"make one with: microattn learn start DIR")
        return workspace

    # -- progress ------------------------------------------------------------------
    def progress(self):
        return json.loads(self.progress_path.read_text(encoding="utf-8"))

    def save(self, progress):
        write_atomic(self.progress_path, json.dumps(progress, indent=2) + "\n")

    def digest(self, number):
        """sha256 of the exercise's file (and of the files it imports)."""
        h = hashlib.sha256()
        for n in (*exercise(number).uses, number):
            path = self.dir / exercise(n).file
            h.update(path.read_bytes() if path.exists() else b"")
        return h.hexdigest()

    def record_check(self, number, status, seconds):
        """Note the result of a check ("passed", "failed" or "not done") of the file as it is."""
        progress = self.progress()
        progress["exercises"][str(number)] = {
            "passed": status == "passed", "status": status, "digest": self.digest(number),
            "seconds": round(seconds, 3),
            "checked_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self.save(progress)

    def passed(self, number):
        """Did exercise ``number`` pass its last check, with the file as it is now?"""
        record = self.progress()["exercises"].get(str(number))
        return bool(record and record["passed"] and record["digest"] == self.digest(number))

    def next_hint(self, number):
        """The index of the next hint of ``number`` to show (cycling), recorded as shown."""
        progress = self.progress()
        shown = progress["hints"].get(str(number), 0)
        progress["hints"][str(number)] = shown + 1
        self.save(progress)
        return shown % len(exercise(number).hints)

    def record_train(self, run_dir, metrics):
        """Note a training run's last evaluation; a run that completed exercise 10 stays
        noted over later runs that score lower (a quick experiment with --steps 50)."""
        progress = self.progress()
        kept = progress.get("train")
        if kept and kept["held_out_exact"] >= max(TRAIN_TARGET, metrics["held_out_exact"]):
            return
        progress["train"] = {"run": str(run_dir), "step": metrics["step"],
                             "held_out_exact": metrics["held_out_exact"]}
        self.save(progress)

    # -- the learner's code ------------------------------------------------------------
    def load_all(self, numbers):
        """{number: module} for ``numbers``, each file run once (what one imports included)."""
        modules = {}
        for number in sorted(numbers):
            modules[number] = self.load(number, modules)
        return modules

    def load(self, number, loaded=None):
        """The learner's module for exercise ``number``, run afresh from its file, after
        the files it imports (unless ``loaded``, {number: module}, has them already).
        Errors while running it propagate."""
        loaded = {} if loaded is None else loaded
        for n in exercise(number).uses:
            if n not in loaded:
                loaded[n] = self.load(n, loaded)
        ex = exercise(number)
        path = self.dir / ex.file
        module = types.ModuleType(ex.module_name)
        module.__file__ = str(path)
        for n in ex.uses:  # `from ex04_softmax import ...` finds the module loaded above
            sys.modules[exercise(n).module_name] = loaded[n]
        sys.modules[ex.module_name] = module
        code = compile(path.read_text(encoding="utf-8"), str(path), "exec")
        exec(code, module.__dict__)
        return module
