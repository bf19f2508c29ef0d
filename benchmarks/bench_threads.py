"""Milliseconds per training step of the default toy models with 1 and 2 BLAS threads.

    python benchmarks/bench_threads.py [--tasks reverse,add,charlm] [--steps 20]

Decides `microattn train`'s default --threads: the default must never make a toy
run slower than one thread would. Each task's default model and batch train with
1 and with 2 threads in turns (1, 2, 1, 2, ...), so a busy moment of a shared
machine slows both; the table shows the median of each.
"""
import argparse
import statistics
import time
import types

import numpy as np
from threadpoolctl import threadpool_limits

import microattn as ma
from microattn.data import load_task
from microattn.train import Config, build_model
from microattn.train.loop import train_step
from microattn.train.schedule import make_scheduler


def step_times(task_name, steps):
    task = load_task(task_name)
    config = Config.for_task(task)
    ma.manual_seed(0)
    model = build_model(task, config)
    optimizer = ma.optim.AdamW(model.parameters(), lr=config.lr)
    # The parts of a run that a training step uses, without a run folder.
    run = types.SimpleNamespace(config=config, task=task, step=0, model=model,
                                optimizer=optimizer, scheduler=make_scheduler(optimizer, config))
    batches = [task.sample(np.random.default_rng(i), config.batch_size) for i in range(steps)]
    times = {1: [], 2: []}
    for i, batch in enumerate(batches):
        for threads in ((1, 2) if i % 2 else (2, 1)):
            with threadpool_limits(limits=threads):
                start = time.perf_counter()
                train_step(run, batch)
                times[threads].append(time.perf_counter() - start)
    return {k: 1000 * statistics.median(v[2:]) for k, v in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="reverse,add,charlm")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    print(f"{'task':<10} {'1 thread ms':>12} {'2 threads ms':>13} {'2 vs 1':>7}")
    for name in args.tasks.split(","):
        ms = step_times(name, args.steps)
        print(f"{name:<10} {ms[1]:>12.1f} {ms[2]:>13.1f} {ms[2] / ms[1]:>6.2f}x")


if __name__ == "__main__":
    main()
