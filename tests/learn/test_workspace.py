"""`microattn learn`, `learn start`, `learn check`, `learn hint` as a learner runs them:
an untouched workspace fails every exercise, a solved one passes them all, every
exercise file runs as a script, and bad input is one line with exit code 2."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microattn.learn import EXERCISES, Workspace, check_exercise, exercise
from microattn.learn.workspace import BEGIN, END, TEMPLATES, render

from learn.workspaces import ROOT, microattn

CODED = [ex.number for ex in EXERCISES if ex.check is not None]


def test_an_untouched_workspace_fails_every_exercise(untouched):
    done = microattn("learn", "check", "--dir", untouched.dir)
    assert done.returncode == 1
    for ex in EXERCISES[:-1]:
        assert f"exercise {ex.number} ({ex.title}): " in done.stdout
    assert done.stdout.count("is not implemented yet") == len(CODED)
    assert "    a hint: microattn learn hint 4\n" in done.stdout
    assert "0 of 9 passed" in done.stdout
    ten = microattn("learn", "check", "10", "--dir", untouched.dir)
    assert ten.returncode == 1 and "exercise 10 is not done yet" in ten.stdout


def test_a_solved_workspace_passes_every_exercise(solved):
    done = microattn("learn", "check", "all", "--dir", solved.dir)
    assert done.returncode == 0, done.stdout
    assert "9 of 9 passed" in done.stdout and "FAILED" not in done.stdout
    assert done.stdout.endswith(f"next: microattn learn train {solved.dir}\n")
    progress = json.loads((solved.dir / "progress.json").read_text())
    assert all(progress["exercises"][str(n)]["passed"] for n in CODED)


@settings(max_examples=5)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_solutions_pass_on_any_random_inputs(tmp_path_factory, seed):
    workspace = Workspace.create(tmp_path_factory.mktemp("seeded") / "ws", solved=True)
    for number in CODED:
        result = check_exercise(workspace, number, seed=seed)
        assert result.passed, (number, result.failure)


def _script(workspace, number):
    """Run exercise ``number``'s file as a script from its workspace."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, exercise(number).file], cwd=workspace.dir, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("number", CODED)
def test_each_solved_exercise_file_runs_as_a_script_and_passes(solved, number):
    done = _script(solved, number)
    assert done.returncode == 0 and "passed" in done.stdout, done.stdout + done.stderr


def test_an_untouched_file_run_as_a_script_says_what_is_missing(untouched):
    done = _script(untouched, 1)
    assert done.returncode == 1, done.stderr
    assert "exercise 1 (a scalar autograd Value): Value.__add__ is not implemented yet" \
        in done.stdout
    train = _script(untouched, 10)
    assert train.returncode == 2 and "not passing `microattn learn check` yet" in train.stderr


def test_templates_are_percent_notebooks_with_math_and_a_marked_solution():
    for ex in EXERCISES:
        text = (TEMPLATES / ex.file).read_text()
        assert text.startswith("# %% [markdown]\n") and "\n# %%\n" in text, ex.file
        if ex.check is not None:
            assert text.count(BEGIN) == text.count(END) > 0, ex.file
            docstrings = text.split('"""')[1::2]
            assert any(" = " in d for d in docstrings), f"{ex.file}: no math in a docstring"
            unsolved = render(text, ex.number, solved=False)
            assert BEGIN not in unsolved and "raise NotImplementedError" in unsolved
            compile(unsolved, ex.file, "exec")


def test_the_list_shows_progress_and_the_next_step(solved):
    microattn("learn", "check", "1", "--dir", solved.dir)
    done = microattn("learn", cwd=solved.dir)
    assert done.returncode == 0
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:11]}
    assert rows["1"].endswith("passed") and rows["2"].endswith("to do")
    assert "1 of 10 done; next: microattn learn check 2" in done.stdout
    outside = microattn("learn", "--dir", solved.dir.parent)
    assert "start with: microattn learn start" in outside.stdout


def test_hints_come_one_at_a_time_and_cycle(untouched):
    assert [untouched.next_hint(4) for _ in range(4)] == [0, 1, 2, 0]
    assert untouched.next_hint(5) == 0  # each exercise counts its own
    shown = microattn("learn", "hint", "4", cwd=untouched.dir).stdout
    assert shown.startswith("exercise 4, hint 2 of 3: dy_i/dx_j = y_i (delta_ij - y_j)")
    third = microattn("learn", "--dir", untouched.dir, "hint", "4").stdout
    assert third == "exercise 4, hint 3 of 3: row = (g * y).sum(axis=-1, keepdims=True)\n"


@pytest.mark.parametrize("args, message", [
    (("learn", "check", "11"), "expected an exercise number from 1 to 10"),
    (("learn", "check", "soon"), "expected an exercise number from 1 to 10"),
    (("learn", "hint", "0"), "expected an exercise number from 1 to 10"),
    (("learn", "check", "1", "--dir", "/nonexistent-folder"), "is not a learn workspace"),
    (("learn", "train", "/nonexistent-folder"), "is not a learn workspace"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    done = microattn(*args)
    assert done.returncode == 2 and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and done.stdout == ""


def test_start_refuses_a_folder_that_holds_something_and_touches_nothing(untouched):
    before = sorted(p.name for p in untouched.dir.iterdir())
    done = microattn("learn", "start", untouched.dir, "--solved")
    assert done.returncode == 2 and "already exists and is not an empty folder" in done.stderr
    assert sorted(p.name for p in untouched.dir.iterdir()) == before
    assert "raise NotImplementedError" in (untouched.dir / "ex04_softmax.py").read_text()


def test_the_docs_show_the_math_of_every_exercise_file():
    spec = importlib.util.spec_from_file_location(
        "exercise_docstrings", ROOT / "docs" / "hooks" / "exercise_docstrings.py")
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    assert hook.MARKER in (ROOT / "docs" / "learn.md").read_text()
    shown = hook.exercise_docstrings()
    for number in CODED:
        assert f"**`{exercise(number).file}`**" in shown
    assert "that is, dL/dx = y * (g - sum(g * y, -1, keepdims=True))" in shown
    assert "dS = softmax_backward(P, dP)" in shown and "`Value.backward`" in shown


def test_a_run_that_completed_exercise_10_stays_noted_over_a_later_quick_one(untouched):
    untouched.record_train("runs/quick", {"step": 50, "held_out_exact": 0.2})
    assert check_exercise(untouched, 10).status == "failed"
    untouched.record_train("runs/full", {"step": 1000, "held_out_exact": 0.995})
    untouched.record_train("runs/again", {"step": 50, "held_out_exact": 0.3})
    assert untouched.progress()["train"]["run"] == "runs/full"
    assert check_exercise(untouched, 10).passed
