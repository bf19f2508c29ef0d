"""Users' task files, hostile or just wrong, run by the real command: each is one
line naming the file (and the function and line where the task's code failed),
exit 2, and the run folder's last checkpoint kept."""
import re

import pytest

import microattn as ma
from cli_helpers import TINY, microattn, one_line

GOOD = '''\
KIND = "seq2seq"
DESCRIPTION = "reverse letters"


def example(rng):
    n = int(rng.integers(3, 9))
    source = [str(x) for x in rng.integers(0, 6, size=n)]
    return source, source[::-1]
'''
SHORT = ["--steps", "4", "--eval-every", "2", *TINY, "--quiet"]


def task_file(tmp_path, text, name="mytask.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("extra, words", [
    ("DEFAULTS = dict(task='copy')\n", ["DEFAULTS['task'] is not a training option"]),
    ("DEFAULTS = dict(text='a.txt')\n", ["DEFAULTS['text'] is not a training option"]),
    ("DEFAULTS = dict(clip=float('nan'))\n", ["DEFAULTS", "clip", "finite"]),
    ("DEFAULTS = dict(lr=float('nan'))\n", ["DEFAULTS", "lr", "finite"]),
    ("DEFAULTS = dict(weight_decay=float('nan'))\n", ["DEFAULTS", "weight_decay", "finite"]),
    ("DEFAULTS = dict(d_model='big')\n", ["DEFAULTS", "d_model should be int"]),
    ("DEFAULTS = [('steps', 10)]\n", ["DEFAULTS should be a dict"]),
    ("VOCAB = ['0', '1', '<eos>']\n", ["VOCAB has the token '<eos>'"]),
    ("MAX_LEN = '12'\n", ["MAX_LEN should be a whole number", "'12'"]),
    ("MAX_LEN = 12.5\n", ["MAX_LEN should be a whole number"]),
    ("MAX_LEN = 10 ** 8\n", ["need about", "GB of memory"]),
])
def test_bad_declarations_are_one_line_naming_the_file(tmp_path, extra, words):
    path = task_file(tmp_path, GOOD + extra)
    out = tmp_path / "run"
    one_line(microattn("train", path, *SHORT, "--out", out), 2, *words)
    assert not (out / "checkpoint.ma").exists()


@pytest.mark.parametrize("body, words", [
    # example() returning the library's own special tokens
    (GOOD.replace("return source, source[::-1]", "return source, source[::-1] + ['<pad>']"),
     ["an example has the token '<pad>'"]),
    # example() drawing from Python's global generator, not from its rng
    ("import random\n" + GOOD.replace("rng.integers(3, 9)", "random.randint(3, 8)"),
     ["in example()", "other examples for the same rng seed"]),
    ("import sys\nsys.exit(0)\n" + GOOD, ["cannot import", ":2 in <module>", "sys.exit(0)"]),
    ("This is not Python, just notes.\n", ["cannot import", ":1", "SyntaxError"]),
    (GOOD.replace("n = int(", "n = 1 // 0 + int("), [":6 in example()", "ZeroDivisionError"]),
    (GOOD + "def configure():\n    raise RuntimeError('no config')\n",
     [":10 in configure()", "RuntimeError: no config"]),
    (GOOD + "def expected_attention(source, target):\n    return {}['x']\n",
     [":10 in expected_attention()", "KeyError"]),
    (GOOD + "def expected_attention(source, target):\n    return [0]\n",
     ["in expected_attention() returned [0]", "for each of the"]),
    (GOOD + "def format_answer(tokens):\n    raise ValueError('no')\n",
     [":10 in format_answer()", "ValueError: no"]),
])
def test_errors_in_a_task_file_name_the_file_function_and_line(tmp_path, body, words):
    path = task_file(tmp_path, body)
    out = tmp_path / "run"
    # Not --quiet: the closing table of examples runs format_answer.
    line = one_line(microattn("train", path, *SHORT[:-1], "--out", out), 2, str(path), *words)
    assert "Traceback" not in line


def test_debug_shows_the_traceback_above_the_line(tmp_path):
    path = task_file(tmp_path, GOOD.replace("n = int(", "n = 1 // 0 + int("))
    done = microattn("--debug", "train", path, *SHORT, "--out", tmp_path / "run")
    assert done.returncode == 2 and "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("microattn train: error: ")
    done = microattn("train", path, *SHORT, "--out", tmp_path / "run2", "--debug")
    assert done.returncode == 2 and "Traceback" in done.stderr


@pytest.mark.slow   # draws ~6,000 examples first
def test_sys_exit_while_training_keeps_the_last_checkpoint(tmp_path):
    """example() ends the program after the held-out set is drawn (3,000-5,000 calls)
    and some training steps: one line naming the file, exit 2, the checkpoint loads."""
    body = GOOD.replace("def example(rng):\n", "CALLS = [0]\n\n\ndef example(rng):\n"
                        "    CALLS[0] += 1\n    if CALLS[0] > 6000:\n        raise SystemExit(3)\n")
    path = task_file(tmp_path, body)
    out = tmp_path / "run"
    line = one_line(microattn("train", path, "--steps", "1000", "--save-every", "2",
                              "--eval-every", "1000", *TINY, "--out", out, "--quiet"), 2)
    assert re.search(r"mytask\.py:\d+ in example\(\): called sys\.exit\(3\)", line), line
    assert ma.load(out / "checkpoint.ma")["step"] >= 2


def test_parse_that_raises_in_predict_is_one_line(tmp_path):
    path = task_file(tmp_path, GOOD + "def parse(text):\n    return text.nope()\n")
    out = tmp_path / "run"
    microattn("train", path, *SHORT, "--out", out, check=True)
    one_line(microattn("predict", out, "1 2 3"), 2, ":10 in parse()", "AttributeError")
    task_file(tmp_path, GOOD + "def parse(text):\n    return 5\n")
    microattn("train", path, *SHORT, "--out", tmp_path / "run2", check=True)
    one_line(microattn("predict", tmp_path / "run2", "1 2 3"), 2, "parse() returned 5")


def test_a_helper_module_beside_the_task_file_is_importable(tmp_path):
    (tmp_path / "letters_helper.py").write_text("def pick(rng, n):\n"
                                                "    return [str(x) for x in rng.integers(0, 6, size=n)]\n")
    path = task_file(tmp_path, "from letters_helper import pick\n" + GOOD.replace(
        "[str(x) for x in rng.integers(0, 6, size=n)]", "pick(rng, n)"))
    out = tmp_path / "run"
    microattn("train", path, *SHORT, "--out", out, check=True)
    microattn("eval", out, check=True)


@pytest.mark.parametrize("args, words", [
    (["--seed", str(2 ** 32)], ["--seed", "below 2**32"]),
    (["--d-model", "1048576"], ["d_model 1048576", "GB of memory"]),
    (["--batch-size", str(10 ** 12)], ["batch 1000000000000", "GB of memory"]),
])
def test_sizes_beyond_the_machine_are_refused_up_front(tmp_path, args, words):
    out = tmp_path / "run"
    one_line(microattn("train", "copy", *TINY, *args, "--out", out, timeout=60), 2, *words)
    assert not (out / "checkpoint.ma").exists()


def test_sample_seed_beyond_2_64_is_one_line(tmp_path):
    out = tmp_path / "run"
    microattn("train", "add", *SHORT, "--out", out, check=True)
    one_line(microattn("sample", out, "--seed", str(2 ** 64 + 1)), 2, "--seed")


@pytest.mark.slow   # three runs trained
def test_predict_with_an_empty_input_is_decided_by_the_task(tmp_path):
    """Refused where the task's sources are never empty (seq2seq or lm); an answer
    from nothing where they always are (charlm: its windows have empty sources)."""
    out = tmp_path / "copy"
    microattn("train", "copy", *SHORT, "--out", out, check=True)
    one_line(microattn("predict", out, ""), 2, "the input is empty")
    path = task_file(tmp_path, GOOD.replace('KIND = "seq2seq"', 'KIND = "lm"'), "lmtask.py")
    microattn("train", path, *SHORT, "--out", tmp_path / "lm", check=True)
    one_line(microattn("predict", tmp_path / "lm", ""), 2, "the input is empty")
    add = tmp_path / "add"      # add's parse would make "" into "=": still empty input
    microattn("train", "add", *SHORT, "--out", add, check=True)
    one_line(microattn("predict", add, " "), 2, "the input is empty", "e.g.")


@pytest.mark.slow   # a 10,621-character text
def test_charlm_states_the_length_it_needs_and_takes_it(tmp_path):
    from microattn.data.tasks.charlm import minimum_length
    import numpy as np
    need = minimum_length()
    text = "".join(chr(97 + i) for i in np.random.default_rng(0).integers(0, 26, size=need))
    (tmp_path / "short.txt").write_text(text[:2000])
    one_line(microattn("train", "charlm", "--text", tmp_path / "short.txt"), 2,
             "2,000 characters", f"at least {need:,}")
    (tmp_path / "enough.txt").write_text(text)
    out = tmp_path / "run"
    microattn("train", "charlm", "--text", tmp_path / "enough.txt", *SHORT, "--out", out,
              check=True)
    answer = microattn("predict", out, "", check=True).stdout
    assert len(answer.rstrip("\n")) > 0
