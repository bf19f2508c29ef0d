"""The numbers the docs quote from runs are the ones `make figures` measured.

docs/figures.py trains the runs behind docs/img (fixed seeds) and writes what they
printed and measured to docs/figures.json. Each quote below is built from that JSON
with the rounding the page shows, and must appear in the page word for word
(line breaks aside): rerun `make figures`, and a page whose number moved fails here
until it is updated."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES = json.loads((ROOT / "docs" / "figures.json").read_text(encoding="utf-8"))


def at(run, step):
    return FIGURES[run]["metrics"][str(step)]


def steps(run):
    return sorted(map(int, FIGURES[run]["metrics"]))


def printed(run, prefix):
    """The line the run printed that starts with ``prefix``."""
    return next(line for line in FIGURES[run]["stdout"] if line.startswith(prefix))


def stopped_at(run):
    """The last evaluation: the run stops at the first one where every held-out
    answer is right (train's --until, default 1.0)."""
    return steps(run)[-1]


def budget(run):
    """The most steps the run's command allows (its --steps)."""
    return int(re.search(r"--steps (\d+)", FIGURES[run]["command"])[1])


def evaluation_line(step):
    """A progress line as the docs show it: up to the alignment, then '...'."""
    line = printed("reverse", f"step {step}/{budget('reverse')} ")
    return line[:line.index("alignment") + len("alignment 0.00")] + "  ..."


def dip(run):
    """(step, metrics) of the largest fall of held-out exact match between evaluations."""
    order = steps(run)
    falls = [(at(run, a)["held_out_exact"] - at(run, b)["held_out_exact"], b)
             for a, b in zip(order, order[1:])]
    step = max(falls)[1]
    return step, at(run, step)


def reverse_quotes():
    end = stopped_at("reverse")
    r100, r500, last = at("reverse", 100), at("reverse", 500), at("reverse", end)
    step, fell = dip("reverse")
    cpu = (f"{FIGURES['reverse']['cpu_seconds']:.0f} CPU seconds (one BLAS thread; "
           f"{FIGURES['machine']})")
    summary = printed("reverse", "held-out exact match")
    learned = printed("reverse", "learned:")
    tutorial = [evaluation_line(s) for s in (100, 200, 500, end)] + [summary, learned, cpu] + [
        f"to {r100['loss']:.1f} on average over those steps, while alignment is "
        f"{r100['alignment']:.2f} and exact match {r100['held_out_exact']:.0%}",
        f"between steps 100 and 500 alignment climbs to {r500['alignment']:.2f}, and exact "
        f"match follows it to {r500['held_out_exact']:.0%}",
        f"the dip at step {step} (exact {fell['held_out_exact']:.0%}, alignment "
        f"{fell['alignment']:.2f})",
        f"reaches {last['held_out_exact']:.0%} exact match at step {end:,}, where the run "
        f"stops, with alignment {last['alignment']:.2f}"]
    r200 = at("reverse", 200)
    visualize = (
        f"to {r100['loss']:.1f} over the first 100 steps while alignment is still "
        f"{r100['alignment']:.2f} and exact match {r100['held_out_exact']:.0%}",
        f"Alignment then climbs, {r200['alignment']:.2f} at step 200, {r500['alignment']:.2f} "
        f"at step 500, and exact match follows it, {r200['held_out_exact']:.0%} then "
        f"{r500['held_out_exact']:.0%}; at step {end:,} every held-out string is right "
        f"({last['held_out_exact']:.0%}), the run stops, and alignment ends at "
        f"{last['alignment']:.2f}")
    readme = [summary, learned, cpu, f"stops at step {end:,} of at most {budget('reverse'):,}"]
    return [("docs/tutorial.md", q) for q in tutorial] + [
        ("README.md", q) for q in readme] + [("docs/visualize.md", q) for q in visualize]


def watching_quotes():
    moments = FIGURES["watching"]["moments"]
    first, half, end = (moments[s] for s in sorted(moments, key=int))
    middle, final = sorted(moments, key=int)[1:]
    return [("docs/visualize.md", q) for q in (
        f"step 0, the step where the probe's alignment is half-way ({middle} here) and the "
        f"end ({final})",
        f"dL/dA is noisy, up to {first['max_dA']:.2g} in size, and dL/dS up to "
        f"{first['max_dS']:.2g}",
        f"its mean on the outlined (mirrored) cells is already negative, "
        f"{first['mean_dS_expected']:.1e}, against {first['mean_dS_elsewhere']:+.1e} elsewhere",
        f"up to {half['max_dS']:.2g} in dL/dS",
        f"at most {end['max_dA']:.1e} in dL/dA and {end['max_dS']:.1e} in dL/dS")]


def translate_quotes():
    order = steps("translate")
    end = stopped_at("translate")
    first, last = at("translate", order[0]), at("translate", end)
    return [("docs/visualize.md", q) for q in (
        f"its loss falls from {first['loss']:.1f} at step {order[0]} to {last['loss']:.2f} at "
        f"step {end}, and exact match from {first['held_out_exact']:.0%} to "
        f"{last['held_out_exact']:.0%}, while alignment goes from {first['alignment']:.2f} to "
        f"{last['alignment']:.2f}",
        f"stops at step {end} of at most {budget('translate'):,}")]


QUOTES = [*reverse_quotes(), *watching_quotes(), *translate_quotes()]


@pytest.mark.parametrize("page, quote", QUOTES, ids=[f"{p}: {q[:40]}" for p, q in QUOTES])
def test_the_page_quotes_the_measured_number(page, quote):
    text = re.sub(r"\s+", " ", (ROOT / page).read_text(encoding="utf-8"))
    assert re.sub(r"\s+", " ", quote) in text, f"{page} should say: {quote}"


def test_the_runs_are_named_with_their_machine_and_cpu_time():
    assert FIGURES["machine"] and FIGURES["reverse"]["cpu_seconds"] > 0
    assert FIGURES["reverse"]["command"].startswith("microattn train reverse")


@pytest.mark.parametrize("run", ["reverse", "translate"])
def test_the_runs_stop_at_the_first_evaluation_with_every_answer_right(run):
    order = steps(run)
    assert at(run, stopped_at(run))["held_out_exact"] == 1.0
    assert all(at(run, step)["held_out_exact"] < 1.0 for step in order[:-1])
    assert stopped_at(run) < budget(run)


def test_the_reverse_run_is_make_demos_command():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    demo = re.search(r"^demo:.*?\n(?:\t.*\n)*?\t\S*microattn (train reverse .*)$", makefile,
                     flags=re.M)[1]
    assert " ".join(demo.replace("--out runs/demo", "").split()) == \
        FIGURES["reverse"]["command"].removeprefix("microattn ")
