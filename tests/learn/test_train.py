"""`microattn learn train`: refuses until exercises 4-8 pass, trains reverse on the
learner's own code (counted: every forward and backward of theirs runs)."""
import json
import re

import pytest

from microattn.learn import TRAIN_TARGET, exercise

from learn.workspaces import edit, microattn

# Appended to an exercise file: count the calls of its functions into a JSON file at exit
# (only in the process that sets LEARN_CALLS, the training run).
COUNTER = '''
import atexit as _atexit, json as _json, os as _os
_calls = dict()


def _counted(fn):
    def wrapper(*args, **kwargs):
        _calls[fn.__name__] = _calls.get(fn.__name__, 0) + 1
        return fn(*args, **kwargs)
    return wrapper


for _name in {names!r}:
    globals()[_name] = _counted(globals()[_name])
if "LEARN_CALLS" in _os.environ:
    _atexit.register(lambda: open(_os.environ["LEARN_CALLS"] + "{number}", "w").write(
        _json.dumps(_calls)))
'''
FUNCTIONS = {4: ["softmax", "softmax_backward"],
             5: ["cross_entropy", "cross_entropy_backward"],
             6: ["layer_norm", "layer_norm_backward"], 7: ["embedding", "embedding_backward"],
             8: ["attention", "attention_backward"]}


def test_train_refuses_until_the_exercises_it_runs_pass(solved):
    microattn("learn", "check", "all", "--dir", solved.dir)
    edit(solved, 6, "return centred / sigma * weight + bias", "return centred * weight + bias")
    done = microattn("learn", "train", solved.dir, "--steps", "2")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("microattn learn train: error: train runs your exercises 4 "
                                   "to 8; not passing `microattn learn check` yet: 6 (layer "
                                   "norm backward)")


def test_a_short_run_trains_on_the_learners_own_code(solved, tmp_path):
    for number, names in FUNCTIONS.items():
        path = solved.dir / exercise(number).file
        path.write_text(path.read_text() + COUNTER.format(names=names, number=number))
    assert microattn("learn", "check", "all", "--dir", solved.dir).returncode == 0
    calls = tmp_path / "calls"
    done = microattn("learn", "train", solved.dir, "--steps", "4", "--eval-every", "2",
                     "--no-pictures", "--quiet", "--out", solved.dir / "run",
                     env={"LEARN_CALLS": str(calls)})
    assert done.returncode == 0, done.stderr
    counted = {n: json.loads((tmp_path / f"calls{n}").read_text()) for n in FUNCTIONS}
    for number, names in FUNCTIONS.items():
        for name in names:
            if name == "softmax":  # runs inside the learner's attention, counted there
                continue
            assert counted[number].get(name, 0) >= 4, (name, counted[number])
    # The learner's softmax backward ran inside their attention backward, every step.
    assert counted[4]["softmax_backward"] >= counted[8]["attention_backward"] >= 4 * 2 * 3
    metrics = [json.loads(line) for line in (solved.dir / "run" / "metrics.jsonl").open()]
    assert [m["step"] for m in metrics] == [2, 4]
    record = json.loads((solved.dir / "progress.json").read_text())["train"]
    assert record["step"] == 4 and record["held_out_exact"] == metrics[-1]["held_out_exact"]
    assert "your ops trained reverse to" not in done.stdout  # --quiet: the verdict is silent


def test_an_error_of_the_learners_code_mid_run_is_one_line_naming_their_file(solved):
    # A bug the checks cannot see: it strikes only at the model's width (128).
    edit(solved, 6, "    centred = x - x.mean(axis=-1, keepdims=True)\n",
         "    centred = x - x.mean(axis=-1, keepdims=True)\n"
         "    if x.shape[-1] == 128:\n        raise ValueError('too wide')\n")
    assert microattn("learn", "check", "all", "--dir", solved.dir).returncode == 0
    done = microattn("learn", "train", solved.dir, "--steps", "2", "--no-pictures", "--quiet")
    assert done.returncode == 1
    assert re.match(r"microattn learn train: your layer_norm raised ValueError: too wide "
                    r"\(line \d+ of ex06_layer_norm.py\)", done.stderr), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_the_full_run_reaches_99_percent_on_reverse(solved):
    assert microattn("learn", "check", "all", "--dir", solved.dir).returncode == 0
    done = microattn("learn", "train", solved.dir, "--out", solved.dir / "run")
    assert done.returncode == 0, done.stderr
    assert (solved.dir / "run" / "report.html").exists()
    record = json.loads((solved.dir / "progress.json").read_text())["train"]
    assert record["held_out_exact"] >= TRAIN_TARGET
    assert microattn("learn", "check", "10", "--dir", solved.dir).returncode == 0
