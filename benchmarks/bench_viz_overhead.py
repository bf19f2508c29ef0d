"""What pictures cost: recording while training (should be nothing measurable), and drawing.

    python benchmarks/bench_viz_overhead.py [--steps 30] [--threads 1]

1. Module paths. Every graph node records the dotted path of the module that
   ran it (``Module.__call__`` pushes its name). Training steps with the real
   ``Module.__call__`` are timed against steps with one that calls ``forward``
   directly (no path recorded), alternating, medians of --steps each.
2. Recording. Steps of the same loop with and without a ``RunPictures``
   callback attached (it reads the gradient norm of each parameter group after
   every step); and, separately, one attention snapshot of the probe (what
   ``on_eval`` adds once per evaluation), next to one step.
3. Drawing. ``draw_graph`` and Graphviz rendering of one training step of a
   4-layer GPT, folded and not, with node counts and file sizes (target:
   the folded graph renders in under 10 s).

GPT: vocab 64, d_model 64, 4 heads, 2 layers (4 for the graph), sequence 32,
batch 16, AdamW; float32 on --threads BLAS threads.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time
from types import SimpleNamespace

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits
    with threadpool_limits(args.threads):
        run(args)


def run(args):
    import microattn as ma
    from microattn import functional as F, optim
    from microattn.models import GPT
    from microattn.nn import Module
    from microattn.viz import draw_graph, save_graph
    from microattn.viz.recorder import RunPictures, capture_attention

    vocab, T, B = 64, 32, 16
    ma.manual_seed(0)
    model = GPT(vocab, 64, 4, 2, T)
    opt = optim.AdamW(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, vocab, (B, T + 1))

    class Task:  # just enough of the Task API for the probe
        kind = "lm"
        held_out = [(["a"], ["b"])]

        def batch(self, examples):
            return idx[:1]

        def loss(self, model, batch):
            logits = model(batch[:, :-1])
            return F.cross_entropy(logits.reshape(-1, vocab), batch[:, 1:].reshape(-1))

    task = Task()
    runobj = SimpleNamespace(model=model, task=task, step=0, metrics=[], dir=None)

    def step(callback=None):
        opt.zero_grad()
        loss = F.cross_entropy(model(idx[:, :-1]).reshape(-1, vocab), idx[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        if callback is not None:
            callback.on_step(runobj, runobj.step, loss.item())

    def timed(fn):
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1e3

    real_call = Module.__call__

    def bare_call(self, *a, **k):
        return self.forward(*a, **k)

    for _ in range(3):
        step()
    with_paths, without_paths, with_cb, without_cb = [], [], [], []
    pictures = RunPictures(quiet=True)
    for i in range(args.steps):
        order = [0, 1] if i % 2 == 0 else [1, 0]
        for which in order:
            if which == 0:
                with_paths.append(timed(step))
            else:
                Module.__call__ = bare_call
                try:
                    without_paths.append(timed(step))
                finally:
                    Module.__call__ = real_call
        for which in order:
            if which == 0:
                without_cb.append(timed(step))
            else:
                with_cb.append(timed(lambda: step(pictures)))
    snapshot = [timed(lambda: capture_attention(model, task, task.held_out[0]))
                for _ in range(5)]
    on_step = [timed(lambda: pictures.on_step(runobj, 0, 0.0)) for _ in range(200)]

    med = statistics.median
    print("| measurement | median ms | |")
    print("|---|---|---|")
    print(f"| step, module paths recorded | {med(with_paths):.2f} | |")
    print(f"| step, no module paths (Module.__call__ -> forward) | {med(without_paths):.2f} | "
          f"{(med(with_paths) / med(without_paths) - 1) * 100:+.1f}% |")
    print(f"| step, no callback | {med(without_cb):.2f} | |")
    print(f"| step + RunPictures.on_step (gradient norms) | {med(with_cb):.2f} | "
          f"{(med(with_cb) / med(without_cb) - 1) * 100:+.1f}% |")
    print(f"| RunPictures.on_step alone | {med(on_step):.3f} | "
          f"{med(on_step) / med(without_cb) * 100:.1f}% of a step |")
    print(f"| one attention snapshot (on_eval, batch of 1) | {med(snapshot):.2f} | "
          f"{med(snapshot) / med(without_cb) * 100:.0f}% of a step |")

    ma.manual_seed(0)
    big = GPT(vocab, 64, 4, 4, T)
    loss = F.cross_entropy(big(idx[:, :-1]).reshape(-1, vocab), idx[:, 1:].reshape(-1))
    loss.backward()
    print()
    print("| 4-layer GPT step graph | nodes | draw s | render svg s | svg KB | png s | png KB |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, kw in (("folded (default)", {}), ("unfolded", {"fold_repeats": False}),
                         ("folded, max_depth=2", {"max_depth": 2})):
            start = time.perf_counter()
            g = draw_graph(loss, params=big, **kw)
            drawn = time.perf_counter() - start
            start = time.perf_counter()
            svg = save_graph(g, os.path.join(tmp, "g.svg"))
            svg_s = time.perf_counter() - start
            start = time.perf_counter()
            png = save_graph(g, os.path.join(tmp, "g.png"))
            png_s = time.perf_counter() - start
            print(f"| {name} | {g.node_count} of {g.full_count} | {drawn:.3f} | {svg_s:.2f} | "
                  f"{os.path.getsize(svg) / 1e3:.0f} | {png_s:.2f} | "
                  f"{os.path.getsize(png) / 1e3:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
