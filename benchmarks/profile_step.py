"""cProfile of microattn GPT training steps: where the time of a step goes.

    python benchmarks/profile_step.py [--config tiny] [--steps 50] [--top 25]

Runs the step of bench_train.py (forward, cross-entropy, backward, AdamW) on
one BLAS thread after two warm-up steps and prints the functions with the
most own time ("tottime"), the figure that shows what to make faster.
"""
import argparse
import cProfile
import os
import pstats
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_train import CONFIGS, microattn_step  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="tiny", choices=list(CONFIGS))
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    step, _ = microattn_step(CONFIGS[args.config])
    step(), step()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.steps):
        step()
    profile.disable()
    stats = pstats.Stats(profile)
    print(f"{args.config}: {stats.total_tt / args.steps * 1e3:.2f} ms per step under cProfile")
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
