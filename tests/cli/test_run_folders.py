"""Run folders as users share and reuse them: never written over, one process at a
time, resumable from every state, and never running a task file nobody here wrote."""
import json
import re
import shutil
import signal

import pytest

import microattn as ma
from cli_helpers import TINY, microattn, one_line, snapshot, start, wait_for

COUNT_TASK = '''\
"""Count each letter: "abca" -> "a2 b1 c1"."""
KIND = "seq2seq"
DESCRIPTION = "count each letter"
LETTERS = "abc"


def example(rng):
    n = int(rng.integers(3, 9))
    source = [LETTERS[i] for i in rng.integers(0, len(LETTERS), size=n)]
    return source, [f"{c}{source.count(c)}" for c in LETTERS if c in source]
'''
SHORT = ["--steps", "6", "--eval-every", "3", *TINY, "--quiet"]


def test_a_folder_that_is_not_a_run_is_refused_unless_overwrite(tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "report.html").write_text("<p>my own report</p>")
    (folder / "config.json").write_text('{"colour": "blue"}')
    before = snapshot(folder)
    one_line(microattn("train", "copy", *SHORT, "--out", folder), 2, "not a microattn run",
             "--overwrite")
    assert snapshot(folder) == before
    microattn("train", "copy", *SHORT, "--out", folder, "--overwrite", check=True)
    assert (folder / "checkpoint.ma").is_file()


@pytest.mark.slow   # two processes, one training on
def test_an_existing_run_is_refused_and_a_second_trainer_is_locked_out(tmp_path):
    run = tmp_path / "run"
    first = start("train", "reverse", "--steps", "100000", "--eval-every", "100000", *TINY,
                  "--out", run)
    try:
        wait_for(lambda: (run / "config.json").exists(), first)
        second = microattn("train", "reverse", *SHORT, "--out", run)
        one_line(second, 2, "another microattn is training in", str(run))
        one_line(microattn("train", "--resume", run, "--steps", "200000"), 2,
                 "another microattn is training")
    finally:
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=120)
    assert first.returncode == 130
    lines = (run / "metrics.jsonl").read_text().splitlines()
    steps = [json.loads(line)["step"] for line in lines]
    assert steps == sorted(set(steps))


def test_stop_at_at_or_below_the_current_step_is_refused(tmp_path):
    run = tmp_path / "run"
    microattn("train", "copy", "--steps", "8", "--eval-every", "2", *TINY, "--stop-at", "4",
              "--out", run, "--quiet", check=True)
    before = snapshot(run)
    one_line(microattn("train", "--resume", run, "--stop-at", "2"), 2, "at step 4 already",
             "--stop-at")
    one_line(microattn("train", "--resume", run, "--stop-at", "4"), 2, "at step 4 already")
    assert snapshot(run) == before


@pytest.mark.slow   # a training process killed, then two runs
def test_a_run_killed_before_its_first_checkpoint_says_how_to_start_it_again(tmp_path):
    run = tmp_path / "run"
    process = start("train", "reverse", "--steps", "100000", "--eval-every", "100000",
                    "--save-every", "100000", "--seed", "3", *TINY, "--out", run)
    try:
        wait_for(lambda: (run / "config.json").exists(), process)
    finally:
        process.kill()
        process.communicate()
    line = one_line(microattn("train", "--resume", run), 2, "no checkpoint.ma",
                    "start it again with: microattn train reverse")
    command = line.split("start it again with: ")[1].split()
    assert command[:3] == ["microattn", "train", "reverse"] and "--seed" in command
    assert command[command.index("--out") + 1] == str(run)
    microattn(*command[1:], "--steps", "4", "--quiet", check=True)   # the same run, shorter
    assert json.loads((run / "config.json").read_text())["seed"] == 3


@pytest.mark.slow   # four runs of the command
def test_a_changed_task_file_is_refused_on_resume_unless_task_changed_ok(tmp_path):
    task, run = tmp_path / "count.py", tmp_path / "run"
    task.write_text(COUNT_TASK)
    microattn("train", task, "--steps", "8", "--eval-every", "2", *TINY, "--stop-at", "4",
              "--out", run, "--quiet", check=True)
    task.write_text(COUNT_TASK.replace('LETTERS = "abc"', 'LETTERS = "abcd"'))
    before = snapshot(run)
    line = one_line(microattn("train", "--resume", run), 2, "changed since the run started",
                    "--task-changed-ok")
    assert "line 4 was 'LETTERS = \"abc\"'" in line, line
    assert snapshot(run) == before
    # The new letter gives another vocabulary: that run cannot go on, and says why.
    one_line(microattn("train", "--resume", run, "--task-changed-ok"), 2, "vocabulary")
    task.write_text(COUNT_TASK + "\n# a comment\n")
    microattn("train", "--resume", run, "--task-changed-ok", "--quiet", check=True)
    assert json.loads((run / "task.json").read_text())["sha256"] != before["task.json"]
    # eval runs the copy the run recorded when the original has changed again.
    task.write_text("raise SystemExit('not this one')\n")
    microattn("eval", run, check=True)


@pytest.mark.slow   # eight runs of the command
def test_a_run_folder_from_elsewhere_does_not_run_its_task_file(tmp_path):
    """Made with another user's key (another machine), or with its copy edited, or
    naming a file it holds no record of: one line naming --trust-task, no code run."""
    task, run = tmp_path / "count.py", tmp_path / "theirs"
    task.write_text(COUNT_TASK)
    elsewhere = {"XDG_CONFIG_HOME": str(tmp_path / "their-home")}
    microattn("train", task, *SHORT, "--out", run, env=elsewhere, check=True)
    marker = tmp_path / "ran"
    copy = run / "task" / "count.py"
    copy.write_text(COUNT_TASK + f"\nopen({str(marker)!r}, 'w').close()\n")
    task.unlink()
    for command in (["eval", run], ["predict", run, "a b"], ["export", run, tmp_path / "w.safetensors"],
                    ["attention", run, "--input", "a b", "--out", tmp_path / "a.png"],
                    ["graph", run, "--out", tmp_path / "g.svg"], ["train", "--resume", run,
                                                                  "--steps", "9"]):
        one_line(microattn(*command), 2, str(copy), "--trust-task")
    assert not marker.exists()
    microattn("eval", run, "--trust-task", check=True)
    assert marker.exists()


def test_a_run_naming_a_task_file_without_a_record_is_refused(tmp_path):
    run = tmp_path / "run"
    microattn("train", "copy", *SHORT, "--out", run, check=True)
    evil = tmp_path / "evil.py"
    marker = tmp_path / "ran"
    evil.write_text(f"open({str(marker)!r}, 'w').close()\n" + COUNT_TASK)
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "task": str(evil)}))
    state = ma.load(run / "checkpoint.ma")
    state["config"]["task"] = str(evil)
    ma.save(state, run / "checkpoint.ma")
    one_line(microattn("eval", run), 2, "--trust-task", "holds no record")
    assert not marker.exists()


def test_resume_config_mismatch_states_the_reason(tmp_path):
    task, run = tmp_path / "count.py", tmp_path / "run"
    gpt_task = COUNT_TASK.replace('KIND = "seq2seq"', 'KIND = "lm"')   # learned positions
    task.write_text(gpt_task + "MAX_LEN = 8\n")
    microattn("train", task, "--steps", "8", *TINY, "--stop-at", "4", "--out", run, "--quiet",
              check=True)
    task.write_text(gpt_task + "MAX_LEN = 9\n")
    line = one_line(microattn("train", "--resume", run, "--task-changed-ok"), 2,
                    "does not match")
    assert not re.search(r"state_dict for \w+:$", line) and "pos" in line, line


def test_a_garbage_line_in_metrics_jsonl_is_skipped(tmp_path):
    run = tmp_path / "run"
    microattn("train", "copy", "--steps", "8", "--eval-every", "2", *TINY, "--stop-at", "4",
              "--out", run, "--quiet", check=True)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('[1, 2]\n"text"\n{"no": "step"}\nnot json at all\n')
    microattn("train", "--resume", run, "--quiet", check=True)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").open()]
    assert steps == [2, 4, 6, 8]
    microattn("eval", run, check=True)


def test_a_moved_run_folder_still_opens(tmp_path):
    task, run = tmp_path / "count.py", tmp_path / "run"
    task.write_text(COUNT_TASK)
    microattn("train", task, *SHORT, "--out", run, check=True)
    moved = shutil.move(str(run), str(tmp_path / "moved"))
    microattn("eval", moved, check=True)


@pytest.mark.slow   # two runs drawing every picture
def test_resume_keeps_the_pictures_history(tmp_path):
    """--stop-at then --resume: the snapshots and gradient norms the pictures are drawn
    from cover steps 0 to the end, as in one go, and the report shows every step."""
    run = tmp_path / "run"
    pictures = [a for a in TINY if a != "--no-pictures"]
    common = ["--steps", "8", "--eval-every", "4", *pictures, "--quiet"]
    microattn("train", "reverse", *common, "--stop-at", "4", "--out", run, check=True)
    microattn("train", "--resume", run, "--quiet", check=True)
    state = ma.load(run / "pictures.ma")
    assert [s["step"] for s in state["snapshots"]] == list(range(9))
    assert [h[0] for h in state["grad_history"]] == list(range(1, 9))
    from PIL import Image
    assert Image.open(run / "attention.gif").n_frames == 9
