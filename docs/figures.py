"""Regenerate docs/img and the numbers the docs quote (docs/figures.json) from real runs.

    make figures                       # everything (a few CPU minutes)
    python docs/figures.py --only qkv  # one piece: reverse, report, translate, watching, qkv

Every run has a fixed seed, so a rerun on the same machine gives the same pictures
and numbers; tests/docs/test_doc_numbers.py fails when a number quoted in the docs
is not the one in docs/figures.json. Runs go to runs/figures/ (left there to look at);
times are CPU seconds of the run's process, with the machine named.
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from microattn.files import write_atomic  # noqa: E402  (the package from this checkout)

ROOT = Path(__file__).resolve().parent.parent
IMG = ROOT / "docs" / "img"
RUNS = ROOT / "runs" / "figures"
JSON = ROOT / "docs" / "figures.json"
REVERSE = ["--d-model", "64", "--ff", "128", "--heads", "4", "--steps", "2000",
           "--eval-every", "100"]  # make demo's run
TRANSLATE = ["--heads", "4", "--steps", "3000", "--eval-every", "25"]  # learned in ~200 steps


def machine():
    """The CPU model and the number of cores, for the times quoted."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), flags=re.M)
        model = found[1].strip() if found else model
    return f"{model}, {len(os.sched_getaffinity(0))} cores"


def run(argv):
    """Run ``argv`` (Python with the package importable, one BLAS thread); returns
    (stdout, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    result = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True,
                            text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result.stdout.replace(f"{ROOT}{os.sep}", ""), round(cpu, 1)  # paths as in the docs


def metrics_of(folder):
    """{step: metrics} of a run folder's metrics.jsonl."""
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    return {str(m["step"]): m for m in map(json.loads, filter(None, lines))}


def train(task, folder, options):
    shutil.rmtree(folder, ignore_errors=True)
    stdout, cpu = run(["-m", "microattn", "train", task, "--out", str(folder), *options])
    return {"command": f"microattn train {task} {' '.join(options)}", "cpu_seconds": cpu,
            "metrics": metrics_of(folder), "stdout": stdout.splitlines()}


def copy(folder, names, target):
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_atomic(target / name, (folder / name).read_bytes())


def reverse():
    folder = RUNS / "reverse"
    numbers = train("reverse", folder, REVERSE)
    copy(folder, ["loss.png", "attention.png", "attention_gradients.png",
                  "attention_strip.png", "gradflow.png"], IMG / "reverse")
    return numbers


def report():
    """A screenshot of the top of runs/figures/reverse/report.html (headless Chromium)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto((RUNS / "reverse" / "report.html").as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(IMG / "report.png"))
        browser.close()
    return {}


def translate():
    folder = RUNS / "translate"
    numbers = train("translate", folder, TRANSLATE)
    copy(folder, ["loss.png", "attention.png", "attention_strip.png"], IMG / "translate")
    return numbers


def watching():
    """Demo 11 at its defaults: the three moments and the alignment against loss."""
    folder = RUNS / "watching"
    shutil.rmtree(folder, ignore_errors=True)
    stdout, cpu = run(["demos/11_watching_attention_learn.py", "--out", str(folder)])
    copy(folder, ["gradients.png", "alignment_vs_loss.png"], IMG / "watching")
    moments = {}
    for m in re.finditer(r"^\s+step\s+(\d+): alignment ([\d.]+), max \|dL/dA\| ([\d.e+-]+), "
                         r"max \|dL/dS\| ([\d.e+-]+), mean dL/dS on the expected cells "
                         r"([\d.e+-]+), elsewhere ([\d.e+-]+)", stdout, flags=re.M):
        moments[m[1]] = dict(zip(("alignment", "max_dA", "max_dS", "mean_dS_expected",
                                  "mean_dS_elsewhere"), map(float, m.groups()[1:])))
    return {"command": "python demos/11_watching_attention_learn.py", "cpu_seconds": cpu,
            "moments": moments, "stdout": stdout.splitlines()}


def qkv():
    """Q, K and V for one query: its match with each key, the softmax row, and the
    weighted sum of the values, with shapes (drawn from a seeded example)."""
    from matplotlib.figure import Figure
    from microattn.viz.attention import draw_heatmap, save_figure
    rng = np.random.default_rng(0)
    keys, d, dv = 5, 4, 3
    q = rng.normal(size=(1, d))
    k = rng.normal(size=(keys, d))
    v = rng.normal(size=(keys, dv))
    s = q @ k.T / np.sqrt(d)                                 # (1, Tk)
    a = np.exp(s - s.max()) / np.exp(s - s.max()).sum()      # (1, Tk)
    o = a @ v                                                 # (1, dv)
    fig = Figure(figsize=(13, 3.6), dpi=110, layout="constrained")
    axes = fig.subplots(1, 6, width_ratios=[d, d, keys, keys, dv, dv])
    limit = float(np.abs(np.concatenate([q.ravel(), k.ravel(), v.ravel(), o.ravel()])).max())
    keys_named = [f"key {j}" for j in range(keys)]
    panels = ((q, "query q (1, d_k = 4)", None, "RdBu_r", -limit, limit),
              (k, "keys K (T_k = 5, d_k)", keys_named, "RdBu_r", -limit, limit),
              (s.T, "scores s = q K^T / \u221ad_k (T_k)", keys_named, "magma", s.min(), s.max()),
              (a.T, "weights a = softmax(s) (T_k)", keys_named, "viridis", 0, 1),
              (v, "values V (T_k, d_v = 3)", keys_named, "RdBu_r", -limit, limit),
              (o, "output o = a V (1, d_v)", None, "RdBu_r", -limit, limit))
    for ax, (matrix, title, rows, cmap, lo, hi) in zip(axes, panels):
        draw_heatmap(ax, matrix, rows, None, annotate=True, cmap=cmap, vmin=lo, vmax=hi,
                     show_key=False)
        ax.set_title(title, fontsize=9)
    fig.suptitle("One query: match it against every key, softmax the row, and mix the "
                 "values by those weights", fontsize=10)
    save_figure(fig, IMG / "qkv.png")
    return {"weights": [round(float(x), 2) for x in a.ravel()]}


PIECES = {"reverse": reverse, "report": report, "translate": translate, "watching": watching,
          "qkv": qkv}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(PIECES),
                        help="comma-separated pieces to regenerate (default: all)")
    names = parser.parse_args().only.split(",")
    numbers = json.loads(JSON.read_text()) if JSON.exists() else {}
    numbers["machine"] = machine()
    for name in names:
        print(f"figures: {name} ...", flush=True)
        numbers[name] = PIECES[name]()
        write_atomic(JSON, json.dumps(numbers, indent=1, sort_keys=True) + "\n")
    print(f"wrote {JSON} and docs/img/")


if __name__ == "__main__":
    main()
