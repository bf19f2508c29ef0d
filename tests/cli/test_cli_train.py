"""The training commands, run for real in a subprocess: train, eval, predict, sample,
tasks; resume, Ctrl-C, kill -9 during a save; bad input exits 2 in one line."""
import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import microattn as ma

# A tiny model, and no pictures (tests/test_viz_cli.py checks the pictures of a run).
TINY = ["--d-model", "16", "--heads", "2", "--layers", "1", "--ff", "32", "--batch-size", "8",
        "--no-pictures"]
COUNT_TASK = '''\
"""Count how often each letter occurs: "abca" -> "a2 b1 c1"."""
KIND = "seq2seq"
DESCRIPTION = "count each letter"
LETTERS = "abc"


def example(rng):
    n = int(rng.integers(3, 9))
    source = [LETTERS[i] for i in rng.integers(0, len(LETTERS), size=n)]
    return source, [f"{c}{source.count(c)}" for c in LETTERS if c in source]
'''


def microattn(*args, timeout=300, check=False):
    done = subprocess.run([sys.executable, "-m", "microattn", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def assert_bad_input(done, *words):
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and lines[0].startswith("microattn")
    assert ": error: " in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def checkpoint_weights(run_dir):
    return {k: np.array(v.detach().numpy()) for k,
            v in ma.load(run_dir / "checkpoint.ma")["model"].items()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny translate run, trained for a few steps (enough to exercise the commands)."""
    run_dir = tmp_path_factory.mktemp("runs") / "translate"
    microattn("train", "translate", "--steps", "8", "--eval-every", "4", *TINY, "--out",
              run_dir, check=True)
    return run_dir


def test_tasks_lists_every_task():
    out = microattn("tasks", check=True).stdout
    for name in ("copy", "reverse", "sort", "add", "translate", "recall", "charlm"):
        assert any(line.split()[:2] in ([name, "seq2seq"], [name, "lm"])
                   for line in out.splitlines()), name
    assert "d_model 64" in out


def test_every_command_has_help(capsys):
    from microattn.cli import main
    for command in ("tasks", "train", "eval", "predict", "sample", "export", "gradcheck"):
        with pytest.raises(SystemExit) as exit:
            main([command, "--help"])
        assert exit.value.code == 0
        assert capsys.readouterr().out.startswith(f"usage: microattn {command}")


def test_train_writes_a_run_folder(trained):
    assert {"config.json", "metrics.jsonl", "checkpoint.ma"} <= {p.name for p in trained.iterdir()}
    steps = [json.loads(line)["step"] for line in (trained / "metrics.jsonl").open()]
    assert steps == [4, 8]
    assert ma.load(trained / "checkpoint.ma")["step"] == 8


def test_train_prints_lines_when_not_a_terminal_and_nothing_when_quiet(tmp_path):
    done = microattn("train", "copy", "--steps", "4", "--eval-every", "2", *TINY,
                     "--out", tmp_path / "a", check=True)
    evals = [line for line in done.stdout.splitlines() if line.startswith("step ")]
    assert len(evals) == 2 and "exact" in evals[0] and "alignment" in evals[0]
    assert "run folder: " + str(tmp_path / "a") in done.stdout
    assert "\r" not in done.stdout
    quiet = microattn("train", "copy", "--steps", "4", *TINY, "--out", tmp_path / "b",
                      "--quiet", check=True)
    assert quiet.stdout == "" and quiet.stderr == ""


def test_eval_predict_export(trained, tmp_path):
    out = microattn("eval", trained, "--examples", "2", check=True).stdout
    assert "held-out exact match" in out and "token accuracy" in out and "alignment" in out
    table = [line for line in out.splitlines() if line.rstrip().endswith(("right", "WRONG"))]
    assert len(table) == 2
    answer = microattn("predict", trained, "the ball is blue", check=True).stdout.strip()
    assert answer and all(w in ma.load(trained / "checkpoint.ma")["vocab"] for w in answer.split())
    done = microattn("export", trained, tmp_path / "w.safetensors", check=True)
    assert (tmp_path / "w.safetensors").stat().st_size > 10_000 and "wrote" in done.stdout


def test_sample_continues_a_prompt(tmp_path):
    run_dir = tmp_path / "add"
    microattn("train", "add", "--steps", "2", *TINY, "--out", run_dir, check=True)
    out = microattn("sample", run_dir, "--prompt", "12+", "--tokens", "5", "--seed", "3",
                    "--temperature", "0.8", "--top-k", "4", check=True).stdout
    again = microattn("sample", run_dir, "--prompt", "12+", "--tokens", "5", "--seed", "3",
                      "--temperature", "0.8", "--top-k", "4", check=True).stdout
    assert out.startswith("12+") and out == again


def test_resume_is_bit_exact(tmp_path):
    """Stopped at step 30 of 60 and resumed: the same weights as 60 steps in one go."""
    common = ["--steps", "60", "--eval-every", "20", "--save-every", "20", "--dropout", "0.1",
              *TINY, "--quiet"]
    microattn("train", "reverse", *common, "--out", tmp_path / "whole", check=True)
    microattn("train", "reverse", *common, "--out", tmp_path / "split", "--stop-at", "30",
              check=True)
    assert ma.load(tmp_path / "split" / "checkpoint.ma")["step"] == 30
    microattn("train", "--resume", tmp_path / "split", "--quiet", "--no-pictures", check=True)
    whole, split = checkpoint_weights(tmp_path / "whole"), checkpoint_weights(tmp_path / "split")
    for name, value in whole.items():
        np.testing.assert_array_equal(value, split[name], err_msg=name)
    steps = [json.loads(line)["step"] for line in (tmp_path / "split" / "metrics.jsonl").open()]
    assert steps == [20, 40, 60]


def start_training(run_dir, *extra):
    return subprocess.Popen([sys.executable, "-m", "microattn", "train", "reverse", "--steps",
                             "100000", "--out", str(run_dir), "--no-pictures", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition, process, seconds=120):
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_ctrl_c_saves_a_checkpoint_and_exits_130(tmp_path):
    run_dir = tmp_path / "run"
    process = start_training(run_dir, *TINY, "--eval-every", "5", "--save-every", "1000")
    try:
        wait_for(lambda: (run_dir / "metrics.jsonl").exists()
                 and (run_dir / "metrics.jsonl").stat().st_size > 0, process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "checkpoint saved to" in err
    state = ma.load(run_dir / "checkpoint.ma")
    assert state["step"] >= 5
    assert "--resume" in err


def test_kill_during_a_save_leaves_the_previous_checkpoint(tmp_path):
    """Checkpoint every step; SIGKILL the moment a save's temporary file appears.
    The checkpoint in place is the previous one, whole; --resume trains on from it."""
    run_dir = tmp_path / "run"
    process = start_training(run_dir, "--save-every", "1", "--eval-every", "100000")
    try:
        wait_for(lambda: (run_dir / "checkpoint.ma").exists(), process)
        wait_for(lambda: any(p.name.endswith(".tmp") for p in run_dir.iterdir()), process)
        process.kill()
        process.wait(timeout=60)
    finally:
        process.kill()
    assert any(p.name.endswith(".tmp") for p in run_dir.iterdir()), "killed outside a save"
    state = ma.load(run_dir / "checkpoint.ma")
    assert state["step"] >= 1
    steps = state["step"] + 2
    done = microattn("train", "--resume", run_dir, "--steps", steps, "--quiet", "--no-pictures")
    assert done.returncode == 0, done.stderr
    assert ma.load(run_dir / "checkpoint.ma")["step"] == steps
    assert not any(p.name.endswith(".tmp") for p in run_dir.iterdir())


def test_a_task_file_trains_like_a_built_in_task(tmp_path):
    path = tmp_path / "count_letters.py"
    path.write_text(COUNT_TASK)
    run_dir = tmp_path / "run"
    done = microattn("train", path, "--steps", "6", "--eval-every", "3", *TINY, "--out",
                     run_dir, check=True)
    assert "count_letters" in done.stdout and "held-out exact match" in done.stdout
    answer = microattn("predict", run_dir, "a b c a", check=True).stdout
    assert answer.endswith("\n") and set(answer.split()) <= {"a1", "a2", "b1", "c1"} | {
        f"{c}{n}" for c in "abc" for n in range(1, 9)}
    assert microattn("eval", run_dir, check=True).returncode == 0


def test_a_diverging_run_stops_with_one_line_and_exit_1(tmp_path):
    done = microattn("train", "copy", *TINY, "--lr", "1e6", "--steps", "40", "--out",
                     tmp_path / "run", "--quiet")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert "loss became nan" in done.stderr


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    (root / "no_example.py").write_text("KIND = 'seq2seq'\n")
    (root / "broken.py").write_text("def example(rng):\n    return (\n")
    (root / "empty_run").mkdir()
    corrupt = root / "corrupt_run"
    corrupt.mkdir()
    (corrupt / "config.json").write_text(json.dumps({"task": "copy"}))
    (corrupt / "checkpoint.ma").write_bytes(b"PK\x03\x04 not really a zip")
    return root


@pytest.mark.parametrize("args, words", [
    (["train", "no_such_task"], ["unknown task", "no_such_task"]),
    (["train", "{bad}/no_example.py"], ["does not define example"]),
    (["train", "{bad}/broken.py"], ["cannot import"]),
    (["train", "{bad}/missing.py"], ["no task file"]),
    (["train", "copy", "--steps", "-5"], ["--steps", "-5"]),
    (["train", "copy", "--lr", "fast"], ["--lr", "fast"]),
    (["train", "copy", "--heads", "3"], ["divisible"]),
    (["train"], ["give a task"]),
    (["train", "copy", "--text", "x.txt"], ["takes no options"]),
    (["train", "charlm", "--text", "{bad}/nope.txt"], ["no text file"]),
    (["train", "--resume", "{bad}/nowhere"], ["no run folder"]),
    (["eval", "{bad}/empty_run"], ["not a run folder"]),
    (["eval", "{bad}/corrupt_run"], ["corrupt"]),
    (["predict", "{bad}/nowhere", "1 2"], ["no run folder"]),
    (["sample", "{bad}/nowhere"], ["no run folder"]),
    (["export", "{bad}/nowhere", "{bad}/x.safetensors"], ["no run folder"]),
    (["export", "{bad}/nowhere", "{bad}/x.bin"], [".safetensors"]),
    (["train", "copy", "--out", "{bad}/no_example.py/run"], ["cannot make the run folder"]),
])
def test_bad_input_is_one_line_and_exit_2(bad_files, args, words):
    assert_bad_input(microattn(*[a.format(bad=bad_files) for a in args]), *words)


def test_bad_input_to_a_trained_run_touches_nothing(trained):
    before = (trained / "checkpoint.ma").read_bytes()
    assert_bad_input(microattn("predict", trained, "the ball is purple"), "'purple'")
    assert_bad_input(microattn("train", "--resume", trained, "--lr", "0.1"), "--lr")
    assert_bad_input(microattn("train", "--resume", trained), "raise --steps")
    assert_bad_input(microattn("train", "copy", "--out", trained), "already holds a run")
    assert_bad_input(microattn("sample", trained), "seq2seq")
    config = json.loads((trained / "config.json").read_text())
    (trained / "config.json").write_text(json.dumps({**config, "d_model": 32}))
    try:
        assert_bad_input(microattn("eval", trained), "does not match")
        assert_bad_input(microattn("train", "--resume", trained, "--steps", "20"),
                         "does not match")
    finally:
        (trained / "config.json").write_text(json.dumps(config))
    assert (trained / "checkpoint.ma").read_bytes() == before


def test_threads_flag_sets_blas_threads_and_refuses_zero(tmp_path):
    done = microattn("train", "copy", "--steps", "2", *TINY, "--threads", "2",
                     "--out", tmp_path / "run")
    assert done.returncode == 0, done.stderr
    done = microattn("train", "copy", "--steps", "2", *TINY, "--threads", "0",
                     "--out", tmp_path / "zero")
    assert done.returncode == 2 and len(done.stderr.splitlines()) == 1
    assert "--threads" in done.stderr and not (tmp_path / "zero").exists()
