"""Milliseconds per GPT training step, and peak memory: microattn against PyTorch.

    python benchmarks/bench_train.py [--configs tiny,small,medium] [--steps 15] [--warmup 3]
                                     [--threads 2] [--json results.json]

A step is what a training loop does: forward, cross-entropy, backward, and an
AdamW update. Both libraries train the same float32 GPT (microattn.models.GPT
and its PyTorch twin from tests/models/test_training_parity.py, which that test shows
to train identically) with the same initial weights, on the same batch. Steps
of the two alternate, the order swapping each time, so that a busy moment of
the machine slows both; each pair of steps gives one ratio, and the table
shows the median ratio with its spread (the quartiles), after warm-up steps.

Both libraries run on --threads threads (default 2: PyTorch's intra-op
threads, and numpy's BLAS threads through ma.set_num_threads). The header
states the load average: on a 2-core machine that other work keeps busy,
threads spinning in one pool starve the other, and two threads can be many
times slower than one for both libraries.

GEMM floor: the model's matrix products alone (forward and backward, as
plain numpy calls on arrays of the same shapes, in the same run and on the
same threads): the time no numpy implementation of this step can go below.
GFLOP/s counts those products' floating-point operations (2 m n k each).

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


def gemm_shapes(config):
    """(batch, m, k, n) of every matrix product in one training step of the GPT:
    forward Y = X W^T, backward dX = G W and dW = G^T X, for the Linear layers,
    and the four products of attention forward and its backward."""
    vocab, d, heads, layers, length, size = config
    rows, hd = size * length, d // heads
    linear = [(d, d)] * 4 + [(d, 4 * d), (4 * d, d)]  # q, k, v, out, linear1, linear2
    shapes = []
    for fan_in, fan_out in linear * layers + [(d, vocab)]:
        shapes += [(1, rows, fan_in, fan_out), (1, rows, fan_out, fan_in),
                   (1, fan_out, rows, fan_in)]
    attention = [(size * heads, length, hd, length), (size * heads, length, length, hd)]
    shapes += attention * 3 * layers  # each forward product and its two backward ones
    return shapes


def gemm_floor(config, repeats=5):
    """(ms for all of the step's matrix products as numpy calls, their GFLOP)."""
    rng = np.random.default_rng(0)
    pairs = [(rng.standard_normal((b, m, k)).astype(np.float32),
              rng.standard_normal((b, k, n)).astype(np.float32))
             for b, m, k, n in gemm_shapes(config)]
    flops = sum(2 * b * m * k * n for b, m, k, n in gemm_shapes(config))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for a, b in pairs:
            np.matmul(a, b)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times), flops / 1e9


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
    from models.test_training_parity import TorchGPT, torch_state

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
    """ms per step of microattn and PyTorch (lists, interleaved), and the first losses."""
    ours, model = microattn_step(config)
    theirs = torch_step(config, model)
    first_losses = ours(), theirs()  # also the first warm-up step
    for _ in range(warmup - 1):
        ours(), theirs()
    times = ([], [])
    for i in range(steps):
        for k in ((0, 1) if i % 2 == 0 else (1, 0)):
            times[k].append(timed((ours, theirs)[k]))
    return times[0], times[1], first_losses


def quartiles(values):
    q1, median, q3 = statistics.quantiles(values, n=4)
    return q1, statistics.median(values), q3


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
    parser.add_argument("--steps", type=int, default=15, help="timed steps per library")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per library first")
    parser.add_argument("--threads", type=int, default=2, metavar="N",
                        help="threads for both libraries (default 2)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory columns")
    parser.add_argument("--memory-of", choices=["microattn", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    names = args.configs.split(",")
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"unknown config(s) {unknown}; choose from {list(CONFIGS)}")
    if min(args.steps, args.warmup, args.threads) < 1 or args.steps < 2:
        parser.error("--warmup and --threads must be at least 1, --steps at least 2")
    import torch

    ma.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    if args.memory_of:  # the child process of memory_in_child
        print(json.dumps(measure_memory(args.memory_of, CONFIGS[names[0]])))
        return

    print("## GPT training step (forward, cross-entropy, backward, AdamW): microattn vs PyTorch")
    print()
    print(f"float32. microattn {ma.__version__} on numpy {np.__version__}; torch "
          f"{torch.__version__}; {args.threads} thread(s) for each library; Python "
          f"{platform.python_version()} on {platform.machine()} with {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.1f} at the start. {args.steps} steps per library after "
          f"{args.warmup} warm-up steps, the libraries alternating; ratio: median of the "
          f"per-pair ratios [quartiles]. Memory: see the docstring of benchmarks/bench_train.py.")
    print()
    print("| config (vocab, d_model, heads, layers, seq, batch) | microattn (ms) | PyTorch (ms) "
          "| microattn / PyTorch [quartiles] | GEMM floor (ms) | microattn / floor "
          "| GFLOP/s microattn / PyTorch | microattn numpy peak (MB) "
          "| microattn RSS growth (MB) | PyTorch RSS growth (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    results = []
    for name in names:
        config = CONFIGS[name]
        ours, theirs, (loss, their_loss) = measure_time(config, args.steps, args.warmup)
        if abs(loss - their_loss) > 1e-4 * abs(their_loss):
            sys.exit(f"{name}: first losses differ ({loss} vs {their_loss}): not the same model")
        floor, gflop = gemm_floor(config)
        ratio = quartiles([a / b for a, b in zip(ours, theirs)])
        ours_ms, theirs_ms = statistics.median(ours), statistics.median(theirs)
        memory = ({"microattn": {}, "torch": {}} if args.no_memory else
                  {lib: memory_in_child(lib, name, args.threads) for lib in ("microattn", "torch")})
        results.append({"config": name, "shape": config, "microattn_ms": ours_ms,
                        "torch_ms": theirs_ms, "ratio_median": ratio[1],
                        "ratio_quartiles": [ratio[0], ratio[2]], "gemm_floor_ms": floor,
                        "gflop_per_step": gflop, "threads": args.threads,
                        "load_average": os.getloadavg()[0], "memory": memory})
        print(f"| {name} {config} | {ours_ms:.1f} | {theirs_ms:.1f} | {ratio[1]:.2f} "
              f"[{ratio[0]:.2f}, {ratio[2]:.2f}] | {floor:.1f} | {ours_ms / floor:.2f} "
              f"| {gflop / ours_ms * 1e3:.1f} / {gflop / theirs_ms * 1e3:.1f} "
              f"| {megabytes(memory['microattn'].get('numpy_peak_mb'))} "
              f"| {megabytes(memory['microattn'].get('rss_mb'))} "
              f"| {megabytes(memory['torch'].get('rss_mb'))} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
