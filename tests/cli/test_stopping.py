"""Training that stops when it has learned (--until, --patience; a task file without
DEFAULTS gets an upper bound of steps), and says so when it ended still learning."""
import json

import pytest

from cli_helpers import microattn, one_line

FIRST_DIGIT = '''\
"""Answer the first digit: "4 7 1 9" -> "4"."""
KIND = "seq2seq"
DESCRIPTION = "the first digit"


def example(rng):
    source = [str(d) for d in rng.integers(0, 10, size=4)]
    return source, source[:1]
'''
# Learns the task in ~80 steps at this learning rate.
FAST = ["--d-model", "16", "--heads", "2", "--layers", "1", "--ff", "32", "--batch-size", "16",
        "--lr", "1e-2", "--warmup", "10", "--eval-every", "20", "--no-pictures"]


def evaluations(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").open()]


def test_a_task_file_without_defaults_stops_when_learned(tmp_path):
    task, run = tmp_path / "first.py", tmp_path / "run"
    task.write_text(FIRST_DIGIT)
    done = microattn("train", task, *FAST, "--out", run, check=True)
    config = json.loads((run / "config.json").read_text())
    assert config["steps"] == 20000 and config["until"] == 1.0     # a bound, not a guess
    last = evaluations(run)[-1]
    assert last["held_out_exact"] == 1.0 and last["step"] < 1000
    closing = done.stdout.strip().splitlines()[-1]
    assert closing.startswith("learned: held-out exact match 100.0% (--until 1.0) at step ")
    microattn("eval", run, check=True)


@pytest.mark.slow   # trains to 50% twice
def test_until_with_patience_waits_for_that_many_evaluations(tmp_path):
    task, run = tmp_path / "first.py", tmp_path / "run"
    task.write_text(FIRST_DIGIT)
    microattn("train", task, *FAST, "--until", "0.5", "--patience", "2", "--out", run,
              "--quiet", check=True)
    exact = [m["held_out_exact"] for m in evaluations(run)]
    assert exact[-1] >= 0.5 and exact[-2] >= 0.5
    assert not (len(exact) >= 3 and exact[-3] >= 0.5), exact    # stopped at the first pair


@pytest.mark.slow   # two runs
def test_a_run_ending_while_still_learning_says_how_to_go_on(tmp_path):
    task, run = tmp_path / "first.py", tmp_path / "run"
    task.write_text(FIRST_DIGIT)
    done = microattn("train", task, *FAST, "--steps", "60", "--out", run, check=True)
    exact = [m["held_out_exact"] for m in evaluations(run)]
    assert exact[-1] > exact[0] and exact[-1] < 1.0
    closing = done.stdout.strip().splitlines()[-1]
    assert closing.startswith("held-out exact match was still rising")
    command = closing.split("continue with: ")[1]
    assert command == f"microattn train --resume {run} --steps 120"
    microattn(*command.split()[1:], "--quiet", check=True)
    assert evaluations(run)[-1]["step"] > 60


def test_until_outside_0_1_is_refused(tmp_path):
    for value in ("0", "1.5", "nan", "x"):
        one_line(microattn("train", "copy", "--until", value, "--out", tmp_path / "r"), 2,
                 "--until")
    assert not (tmp_path / "r").exists()
