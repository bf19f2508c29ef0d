"""Running a task's own code: whatever it raises (``sys.exit()`` too) becomes a
:class:`TaskError` that names the file, the function and the line, one line for
the command line to print (the traceback stays on ``__cause__`` for ``--debug``).

A task file is a user's program; its bugs are bad input to microattn, not
microattn's crash. Ctrl-C (KeyboardInterrupt) is not a bug and passes through.
"""
import os
import traceback


class TaskError(ValueError):
    """A task that cannot be loaded or used: unknown name, bad file, bad example."""


def where(function):
    """``FILE:LINE in NAME()`` of a function's definition (the file as given)."""
    code = getattr(function, "__code__", None)
    name = getattr(function, "__name__", "function")
    if code is None:
        return f"{name}()"
    return f"{code.co_filename}:{code.co_firstlineno} in {name}()"


def located(error, filename, default):
    """``FILE:LINE in NAME()`` of the innermost frame of ``error``'s traceback in
    ``filename`` (the line that raised, in the task's own file), else ``default``."""
    if isinstance(error, SyntaxError) and error.filename == filename:
        return f"{filename}:{error.lineno}"
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if os.path.abspath(f.filename) == os.path.abspath(filename)]
    if not frames:
        return default
    frame = frames[-1]
    name = "<module>" if frame.name == "<module>" else f"{frame.name}()"
    return f"{frame.filename}:{frame.lineno} in {name}"


def describe(error):
    """``TypeName: message``, or what a ``sys.exit(code)`` means."""
    if isinstance(error, SystemExit):
        return f"called sys.exit({error.code!r}); a task file must not end the program"
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


def call(function, *args, **kwargs):
    """``function(*args, **kwargs)``; anything it raises (but TaskError and Ctrl-C) re-raised as
    a TaskError naming the line of the task's file that raised."""
    try:
        return function(*args, **kwargs)
    except TaskError:
        raise
    except (Exception, SystemExit) as error:
        code = getattr(function, "__code__", None)
        place = located(error, code.co_filename, where(function)) if code else where(function)
        raise TaskError(f"{place}: {describe(error)}") from error


def wrong_return(function, got, wanted):
    """The TaskError for a task function that returned something of the wrong form."""
    return TaskError(f"{where(function)} returned {got!r:.80}; {wanted}")
