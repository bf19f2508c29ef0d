"""Ctrl-C, for real: the first stops at the next step boundary and saves, a second
stops at once (exit 130, the last checkpoint kept), at start-up it is one line, and
while drawing it is never swallowed. After Ctrl-C and --resume, metrics.jsonl is
what an uninterrupted run writes."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

import microattn as ma
from microattn import cli
from cli_helpers import TINY, interrupt, microattn, start, wait_for

COMMON = ["--steps", "300", "--eval-every", "100", "--save-every", "1000", "--dropout", "0.1",
          *TINY, "--quiet"]
SLOW_EXAMPLE = '''\
import pathlib
import time

KIND = "seq2seq"
CALLS = [0]


def example(rng):
    CALLS[0] += 1
    if CALLS[0] == 1:
        pathlib.Path(__file__).with_name("started").touch()
    if CALLS[0] > {after}:
        pathlib.Path(__file__).with_name("blocking").touch()
        time.sleep({sleep})
    n = int(rng.integers(3, 9))
    source = [str(x) for x in rng.integers(0, 6, size=n)]
    return source, source[::-1]
'''


def metrics(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").open()]


@pytest.mark.slow   # two runs of 300 steps
def test_metrics_after_ctrl_c_and_resume_agree_with_an_uninterrupted_run(tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    microattn("train", "reverse", *COMMON, "--out", whole, check=True)
    process = start("train", "reverse", *COMMON, "--out", split)
    wait_for(lambda: (split / "metrics.jsonl").exists()
             and (split / "metrics.jsonl").stat().st_size > 0, process)
    _, err = interrupt(process)
    assert process.returncode == 130, err
    stopped = ma.load(split / "checkpoint.ma")["step"]
    assert 100 <= stopped < 300, stopped
    microattn("train", "--resume", split, "--quiet", "--no-pictures", check=True)
    ours, theirs = metrics(split), metrics(whole)
    assert [m["step"] for m in ours] == [m["step"] for m in theirs] == [100, 200, 300]
    for a, b in zip(ours, theirs):
        # The mean training loss of each interval covers the same steps, bit for bit.
        assert a["loss"] == b["loss"] and a["held_out_loss"] == b["held_out_loss"], (a, b)
    elapsed = [m["elapsed_s"] for m in ours]
    # Training time only, carried across the interruption: no restart from zero, no gap.
    assert elapsed == sorted(elapsed) and elapsed[0] > 0
    assert elapsed[-1] < 10 * max(m["elapsed_s"] for m in theirs) + 30


@pytest.mark.slow   # waits for ~6,000 examples before the step blocks
def test_a_second_ctrl_c_stops_a_blocked_step_at_once(tmp_path):
    """example() blocks (sleep) after some training steps: the first Ctrl-C cannot
    end the step, so one line says how to stop at once; the second stops, exit 130,
    keeping the last checkpoint."""
    task, run = tmp_path / "blocks.py", tmp_path / "run"
    task.write_text(SLOW_EXAMPLE.format(after=6000, sleep=3600))
    process = start("train", task, "--steps", "100000", "--save-every", "1",
                    "--eval-every", "100000", *TINY, "--out", run)
    wait_for(lambda: (run / "checkpoint.ma").exists(), process)
    wait_for((tmp_path / "blocking").exists, process)
    process.send_signal(signal.SIGINT)
    time.sleep(2)
    assert process.poll() is None, "the first Ctrl-C should wait for the step"
    out, err = interrupt(process, timeout=30)
    assert process.returncode == 130, err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 2, err
    assert "Ctrl-C again to stop at once" in lines[0]
    assert "interrupted at once" in lines[1] and "--resume" in lines[1]
    assert ma.load(run / "checkpoint.ma")["step"] >= 1
    assert not list(run.glob("*.tmp"))


def test_ctrl_c_at_start_up_is_one_line(tmp_path):
    task = tmp_path / "slow_start.py"
    task.write_text(SLOW_EXAMPLE.format(after=0, sleep=0.01))
    process = start("train", task, "--out", tmp_path / "run")
    wait_for(lambda: (tmp_path / "started").exists(), process)
    out, err = interrupt(process, timeout=30)
    assert process.returncode == 130
    assert err.strip() == "microattn train: interrupted"


def test_ctrl_c_while_dot_draws_is_not_swallowed(tmp_path):
    """A stand-in ``dot`` that hangs; Ctrl-C reaches the whole process group, as at a
    terminal: training has saved, the drawing stops, exit 130."""
    bin_dir, marker = tmp_path / "bin", tmp_path / "dot-started"
    bin_dir.mkdir()
    (bin_dir / "dot").write_text(f"#!/bin/sh\ntouch {marker}\nexec sleep 600\n")
    (bin_dir / "dot").chmod(0o755)
    run = tmp_path / "run"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "microattn", "train", "copy", "--steps", "4", "--eval-every",
         "2", *[a for a in TINY if a != "--no-pictures"], "--out", str(run), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True)
    try:
        wait_for(marker.exists, process)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("microattn train")
    assert ma.load(run / "checkpoint.ma")["step"] == 4


@pytest.mark.parametrize("command", ["attention", "graph"])
def test_ctrl_c_in_attention_and_graph_is_one_line(monkeypatch, capsys, command):
    def interrupted(args):
        raise KeyboardInterrupt
    module = {"attention": cli.attention, "graph": cli.graph}[command]
    monkeypatch.setattr(module, "run", interrupted)
    argv = [command, "runs/x", "--input", "1"] if command == "attention" else [command]
    assert cli.main(argv) == 130
    err = capsys.readouterr().err
    assert err == f"microattn {command}: interrupted\n"
