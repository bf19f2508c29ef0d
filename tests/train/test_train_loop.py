"""The training loop in-process: config, schedules, determinism, resume, callbacks, metrics."""
import io
import json

import numpy as np
import pytest

import microattn as ma
from microattn.data import load_task
from microattn.models import attention_modules
from microattn.train import Config, Progress, Run, build_model, evaluate, read_metrics, train
from microattn.train.evaluate import AlignmentMeter
from microattn.train.schedule import warmup_cosine

TINY = dict(d_model=16, heads=2, layers=1, ff=32, batch_size=8)
METRIC_KEYS = {"step", "loss", "held_out_exact", "held_out_token_acc", "alignment", "lr",
               "tokens_per_s", "elapsed_s"}


@pytest.fixture(scope="module")
def reverse():
    return load_task("reverse")


def weights(model):
    return {k: np.array(v.detach().numpy()) for k, v in model.state_dict().items()}


def test_config_json_round_trip_and_defaults(reverse):
    config = Config.for_task(reverse, steps=123, dropout=0)
    assert config.steps == 123 and config.d_model == reverse.defaults["d_model"]
    assert isinstance(config.dropout, float)
    assert Config.from_json(config.to_json()) == config


@pytest.mark.parametrize("change, message", [
    (dict(steps=0), "steps should be positive"), (dict(heads=3), "not divisible"),
    (dict(dropout=1.0), "dropout"), (dict(schedule="step"), "schedule"),
    (dict(lr="fast"), "lr should be float"), (dict(colour=1), "unknown config field"),
])
def test_config_rejects_bad_values(reverse, change, message):
    with pytest.raises(ValueError, match=message):
        Config.from_dict({**Config.for_task(reverse).to_dict(), **change})


def test_warmup_then_cosine():
    factor = warmup_cosine(10, 110)
    assert factor(0) == pytest.approx(0.1) and factor(9) == pytest.approx(1.0)
    assert factor(60) == pytest.approx(0.5) and factor(110) == pytest.approx(0.0)
    assert all(factor(s) >= factor(s + 1) for s in range(10, 110))


def short_run(task, directory, steps=12, **overrides):
    config = Config.for_task(task, steps=steps, eval_every=6, save_every=6, **TINY, **overrides)
    return Run.create(config, directory, task)


def test_same_seed_same_weights_other_seed_other_weights(reverse, tmp_path):
    a = train(short_run(reverse, tmp_path / "a"))
    b = train(short_run(reverse, tmp_path / "b"))
    c = train(short_run(reverse, tmp_path / "c", seed=1))
    for name, value in weights(a.model).items():
        np.testing.assert_array_equal(value, weights(b.model)[name])
    assert any(not np.array_equal(v, weights(c.model)[k]) for k, v in weights(a.model).items())


def test_resume_is_bit_exact(reverse, tmp_path):
    """Stopped at 10 of 20 steps and resumed (dropout on: its RNG must resume too) ends
    with exactly the weights of an uninterrupted run."""
    whole = train(short_run(reverse, tmp_path / "whole", steps=20, dropout=0.1))
    train(short_run(reverse, tmp_path / "split", steps=20, dropout=0.1), stop_at=10)
    ma.manual_seed(999)          # whatever happened in between must not matter
    np.random.default_rng(5).random(10)
    resumed = Run.open(tmp_path / "split")
    assert resumed.step == 10
    resumed.prepare_resume()
    train(resumed)
    for name, value in weights(whole.model).items():
        np.testing.assert_array_equal(value, weights(resumed.model)[name], err_msg=name)
    assert [m["step"] for m in read_metrics(tmp_path / "split")] == [6, 12, 18, 20]


def test_metrics_jsonl_has_the_keys(reverse, tmp_path):
    run = train(short_run(reverse, tmp_path / "run"))
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [6, 12]
    for line in lines:
        metrics = json.loads(line)
        assert METRIC_KEYS <= set(metrics)
        assert 0 <= metrics["held_out_exact"] <= 1 and 0 <= metrics["alignment"] <= 1
    assert run.metrics == [json.loads(line) for line in lines]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["steps"] == 12


def test_callbacks_see_the_run(reverse, tmp_path):
    seen = []

    class Recorder:
        def on_train_begin(self, run):
            seen.append(("begin", run.step, run.dir))

        def on_step(self, run, step, loss):
            assert step == run.step and isinstance(loss, float)
            seen.append(("step", step))

        def on_eval(self, run, metrics):
            assert metrics is run.metrics[-1]
            seen.append(("eval", metrics["step"]))

    class OnlyEnd:
        def on_train_end(self, run):
            seen.append(("end", run.step))

    train(short_run(reverse, tmp_path / "run"), callbacks=[Recorder(), OnlyEnd()])
    assert seen[0] == ("begin", 0, tmp_path / "run")
    assert [s for s in seen if s[0] == "eval"] == [("eval", 6), ("eval", 12)]
    assert [s for s in seen if s[0] == "step"] == [("step", i) for i in range(1, 13)]
    assert seen[-1] == ("end", 12)


def test_alignment_is_one_for_attention_on_the_expected_positions(reverse):
    """Replace the cross-attention weights by the expected masks (normalised): the meter
    must report 1 for that head and the best head; uniform attention gives less."""
    ma.manual_seed(0)
    model = build_model(reverse, Config.for_task(reverse, **TINY))
    examples = reverse.held_out[:20]
    batch = reverse.batch(examples)
    with ma.no_grad():
        reverse.logits(model, batch)
    (*_, module), = attention_modules(model, "cross")
    weights_ = np.zeros(module.last_attn_weights.shape, dtype=np.float32)
    weights_[:] = 1.0 / weights_.shape[-1]
    for i, example in enumerate(examples):
        _, mask = reverse.expected_mask(example)
        rows = mask.any(-1)
        weights_[i, 1, :mask.shape[0], :mask.shape[1]][rows] = mask[rows] / mask[rows].sum(-1, keepdims=True)
    module.last_attn_weights = ma.tensor(weights_)
    meter = AlignmentMeter(reverse, model)
    meter.add(examples)
    alignment, (name, head) = meter.result()
    assert alignment == pytest.approx(1.0) and head == 1
    assert name == "decoder.layers.0.multihead_attn"
    assert meter.mass[0, 0] / meter.rows < 0.3


def test_evaluate_restores_the_mode_and_scores_a_perfect_answer(reverse, tmp_path):
    run = short_run(reverse, tmp_path / "run")
    run.model.train()
    scores = evaluate(reverse, run.model, reverse.held_out[:50])
    assert run.model.training
    assert len(scores["predictions"]) == 50 and 0 <= scores["exact"] <= 1
    assert scores["loss"] > 0


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise(reverse, tmp_path):
    terminal, pipe = Terminal(), io.StringIO()
    train(short_run(reverse, tmp_path / "a"), progress=Progress(12, stream=terminal))
    train(short_run(reverse, tmp_path / "b"), progress=Progress(12, stream=pipe))
    assert "\r" in terminal.getvalue() and "12/12" in terminal.getvalue()
    lines = pipe.getvalue().splitlines()
    assert "\r" not in pipe.getvalue() and len(lines) == 2
    assert lines[1].startswith("step 12/12  loss ") and "alignment" in lines[1]
