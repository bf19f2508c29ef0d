"""Learn by building: exercises from a scalar gradient to attention's backward, checked
with targeted feedback, ending with a transformer trained on the learner's own ops.

    microattn learn start mywork      # write the exercise files
    microattn learn check 4           # check one (or all) against the library
    microattn learn hint 4            # one hint at a time
    microattn learn train mywork      # train reverse on your ops

The package sits on top of the library (the library does not know it exists):
the checks compare with the library's ops (references.py), and
:func:`learner_ops` runs the library's model and training loop on the learner's
ops. docs/learn.md is the guide.
"""
import sys
from pathlib import Path

from .checker import Result, check_exercise, format_result
from .comparison import Failure
from .exercises import EXERCISES, TRAIN_TARGET, TRAINED_ON, Exercise, exercise
from .learner_ops import learner_ops
from .mistakes import Mistake
from .workspace import Workspace, WorkspaceError


def check_script(number):
    """What an exercise file runs as a script: check it (its folder is the workspace),
    print the result, and exit with 0 if it passed, 1 if not."""
    script = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] else None
    folder = script.parent if script and script.name == exercise(number).file else Path.cwd()
    result = check_exercise(Workspace.open(folder), number)
    print("\n".join(format_result(result)))
    if hasattr(sys.modules["__main__"], "__file__"):  # a script, not a notebook's kernel
        sys.exit(0 if result.passed else 1)
    return result


__all__ = ["EXERCISES", "Exercise", "exercise", "Workspace", "WorkspaceError", "check_exercise",
           "format_result", "Result", "Failure", "Mistake", "learner_ops", "check_script",
           "TRAINED_ON", "TRAIN_TARGET"]
