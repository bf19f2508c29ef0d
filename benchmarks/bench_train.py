"""Milliseconds per GPT training step, and peak memory: microattn against PyTorch.

    python benchmarks/bench_train.py [--configs tiny,small,medium] [--steps 7] [--warmup 2]
                                     [--threads 1]

A step is what a training loop does: forward, cross-entropy, backward, and an
AdamW update. Both libraries train the same float32 GPT (microattn.models.GPT
and its PyTorch twin from tests/test_training_parity.py, which that test shows
to train identically) with the same initial weights, on the same batch. Steps
of the two alternate, the order swapping each time, so that a busy moment of
the machine slows both; the table shows medians after warm-up steps.

Both libraries run on --threads threads (default 1: PyTorch's intra-op
threads, and numpy's OpenBLAS threads). With each library's own default
instead, two thread pools share the cores in one process, and threads
spinning in one pool starve the other: on a 2-core machine that made
microattn's steps up to 20 times slower, which measures the contention, not
either library.

Memory is measured in a fresh process per library and config, the model,
optimiser and batch already built:
- RSS growth: the peak resident set size over the first 3 training steps
  (VmHWM, reset first through /proc/self/clear_refs) minus the resident size
  before them. The same for both libraries; it counts activations, gradients,
  optimiser state and whatever the allocators keep, as seen by the OS.
- numpy peak (microattn only): the largest total of numpy arrays, allocated
  during one steady-state step and alive at the same moment, by tracemalloc
  (numpy reports its allocations to it). PyTorch's CPU allocator is invisible
  to tracemalloc, so there is no such column for it.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np

import microattn as ma
from microattn import functional as F
from microattn import optim
from microattn.models import GPT

TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests")

# name: (vocab, d_model, heads, layers, sequence length, batch)
CONFIGS = {
    "tiny": (64, 64, 4, 2, 32, 16),
    "small": (128, 128, 4, 4, 64, 32),
    "medium": (256, 256, 8, 6, 128, 32),
}
LR = 1e-3
MEMORY_STEPS = 3


def batch(config, seed=0):
    vocab, _, _, _, length, size = config
    seq = np.random.default_rng(seed).integers(0, vocab, size=(size, length + 1))
    return seq[:, :-1], seq[:, 1:]


def microattn_step(config):
    """(step function, the GPT) for microattn: one full training step per call."""
    vocab, d_model, heads, layers, length, _ = config
    ma.manual_seed(0)
    model = GPT(vocab, d_model, heads, layers, max_len=length)
    optimizer = optim.AdamW(model.parameters(), lr=LR)
    inputs, target = batch(config)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs).reshape(-1, vocab), target.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss.item()
    return step, model


def torch_step(config, model):
    """The same step for the PyTorch twin of ``model``, started from its weights."""
    import torch

    sys.path.insert(0, TESTS)
    from test_training_parity import TorchGPT, torch_state

    vocab, d_model, heads, layers, length, _ = config
    twin = TorchGPT(vocab, d_model, heads, layers, length, 4 * d_model)
    twin.load_state_dict(torch_state(model), strict=True)
    twin.train()
    optimizer = torch.optim.AdamW(twin.parameters(), lr=LR)
    inputs, target = (torch.from_numpy(a) for a in batch(config))

    def step():
        optimizer.zero_grad()
        logits = twin(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), target.reshape(-1))
        loss.backward()
        optimizer.step()
        return loss.item()
    return step


def timed(step):
    start = time.perf_counter()
    step()
    return (time.perf_counter() - start) * 1e3


def measure_time(config, steps, warmup):
    """Median ms per step of (microattn, PyTorch), and the two first-step losses."""
    ours, model = microattn_step(config)
    theirs = torch_step(config, model)
    first_losses = ours(), theirs()  # also the first warm-up step
    for _ in range(warmup - 1):
        ours(), theirs()
    times = ([], [])
    for i in range(steps):
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            times[k].append(timed((ours, theirs)[k]))
    return statistics.median(times[0]), statistics.median(times[1]), first_losses


def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def rss_growth_mb(step):
    """Peak RSS over MEMORY_STEPS steps minus the RSS before them, in MB (None if the
    peak cannot be reset)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError:
        return None
    before = status_kb("VmRSS")
    for _ in range(MEMORY_STEPS):
        step()
    return (status_kb("VmHWM") - before) / 1024


def measure_memory(library, config):
    """Run in a child process: the memory figures of one library on one config."""
    step, model = microattn_step(config)
    if library == "torch":
        step = torch_step(config, model)
        del model
    result = {"rss_mb": rss_growth_mb(step)}
    if library == "microattn":
        tracemalloc.start()
        step()
        result["numpy_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result


def memory_in_child(library, name, threads):
    command = [sys.executable, os.path.abspath(__file__), "--memory-of", library, "--configs", name,
               "--threads", str(threads)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def megabytes(value):
    return "n/a" if value is None else f"{value:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="tiny,small,medium",
                        help=f"comma-separated, from {', '.join(CONFIGS)}")
    parser.add_argument("--steps", type=int, default=7, help="timed steps per library (median)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps per library first")
    parser.add_argument("--threads", type=int, default=1, metavar="N",
                        help="threads for both libraries (default 1)")
    parser.add_argument("--memory-of", choices=["microattn", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = args.configs.split(",")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")
    if min(args.steps, args.warmup, args.threads) < 1:
        parser.error("--steps, --warmup and --threads must be at least 1")
    blas_threads = str(args.threads)
    if os.environ.get("OPENBLAS_NUM_THREADS") != blas_threads:
        # OpenBLAS reads its thread count once, when numpy is imported: start again with it set.
        env = dict(os.environ, OPENBLAS_NUM_THREADS=blas_threads, OMP_NUM_THREADS=blas_threads)
        script = os.path.abspath(__file__)
        os.execve(sys.executable, [sys.executable, script, *sys.argv[1:]], env)
    if args.memory_of:  # the child process of memory_in_child
        if args.memory_of == "torch":
            import torch
            torch.set_num_threads(args.threads)
        print(json.dumps(measure_memory(args.memory_of, CONFIGS[names[0]])))
        return

    import torch

    torch.set_num_threads(args.threads)
    print("## GPT training step (forward, cross-entropy, backward, AdamW): microattn vs PyTorch")
    print()
    print(f"float32. microattn {ma.__version__} on numpy {np.__version__}; torch "
          f"{torch.__version__}; {args.threads} thread(s) for each library; Python "
          f"{platform.python_version()} on {platform.machine()} with {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.1f} at the start. Times: median of {args.steps} steps "
          f"per library after {args.warmup} warm-up steps, the libraries alternating. Memory: "
          f"see the docstring of benchmarks/bench_train.py.")
    print()
    print("| config (vocab, d_model, heads, layers, seq, batch) | parameters | microattn (ms) "
          "| PyTorch (ms) | microattn / PyTorch | first loss, microattn / PyTorch "
          "| microattn numpy peak (MB) | microattn RSS growth (MB) | PyTorch RSS growth (MB) |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    for name in names:
        config = CONFIGS[name]
        ours, theirs, (loss, their_loss) = measure_time(config, args.steps, args.warmup)
        if abs(loss - their_loss) > 1e-4 * abs(their_loss):
            sys.exit(f"{name}: first losses differ ({loss} vs {their_loss}): not the same model")
        ours_memory = memory_in_child("microattn", name, args.threads)
        their_memory = memory_in_child("torch", name, args.threads)
        params = GPT(*config[:4], max_len=config[4]).num_parameters()
        print(f"| {name} {config} | {params:,} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f} "
              f"| {loss:.5f} / {their_loss:.5f} | {megabytes(ours_memory['numpy_peak_mb'])} "
              f"| {megabytes(ours_memory['rss_mb'])} | {megabytes(their_memory['rss_mb'])} |",
              flush=True)


if __name__ == "__main__":
    main()
