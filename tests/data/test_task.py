"""Tasks: the built-in ones, the task-file contract, held-out sets, expected attention."""
import numpy as np
import pytest

import microattn as ma
from microattn.models import attention_modules
from microattn.data import BUILT_IN, TaskError, load_task
from microattn.data.tasks import translate
from microattn.train import Config, build_model

FAST_TASKS = [name for name in BUILT_IN if name != "charlm"]


@pytest.fixture(scope="module")
def tasks():
    return {name: load_task(name) for name in BUILT_IN}


@pytest.mark.parametrize("name", BUILT_IN)
def test_held_out_is_1000_distinct_examples_never_drawn_for_training(tasks, name):
    task = tasks[name]
    held_out = {(tuple(s), tuple(t)) for s, t in task.held_out}
    assert len(task.held_out) == len(held_out) == 1000
    drawn = task.sample(np.random.default_rng(0), 3000)
    assert not held_out & {(tuple(s), tuple(t)) for s, t in drawn}


def test_held_out_set_does_not_depend_on_the_training_seed():
    assert load_task("sort").held_out == load_task("sort").held_out


def test_training_draws_in_the_held_out_set_are_rejected(tmp_path):
    # 4,096 possible examples: the held-out set takes ~1000 of them, so many draws hit it.
    path = tmp_path / "bits.py"
    path.write_text("KIND = 'seq2seq'\n"
                    "def example(rng):\n"
                    "    s = [str(b) for b in rng.integers(0, 2, size=12)]\n"
                    "    return s, s[::-1]\n")
    task = load_task(path)
    held_out = {(tuple(s), tuple(t)) for s, t in task.held_out}
    drawn = task.sample(np.random.default_rng(1), 2000)
    assert not held_out & {(tuple(s), tuple(t)) for s, t in drawn}


@pytest.mark.parametrize("name", ["copy", "reverse", "sort"])
def test_digit_tasks(tasks, name):
    task = tasks[name]
    rule = {"copy": list, "reverse": lambda s: s[::-1], "sort": sorted}[name]
    lengths = set()
    for source, target in task.held_out:
        assert target == rule(source)
        lengths.add(len(source))
    assert lengths == set(range(4, 13))


def test_expected_attention_points_at_the_answer(tasks):
    """Each expected source position holds the target token (copy, reverse, sort),
    the value of the queried key (recall)."""
    for name in ("copy", "reverse", "sort"):
        for source, target in tasks[name].held_out[:200]:
            positions = tasks[name].expected_positions((source, target))
            assert [{source[p] for p in ps} for ps in positions] == [{t} for t in target]
    for source, target in tasks["recall"].held_out[:200]:
        positions, = tasks["recall"].expected_positions((source, target))
        assert positions and all(source[p] == target[0] and source[p - 1] == source[-1]
                                 for p in positions)


def test_add_is_addition_written_last_digit_first(tasks):
    task = tasks["add"]
    for source, target in task.held_out:
        a, b = "".join(source).rstrip("=").split("+")
        assert "".join(target[::-1]) == str(int(a) + int(b)) and source[-1] == "="
        assert task.format(target, answer=True) == str(int(a) + int(b))
        assert task.format(source) == "".join(source)
    assert task.parse("123+456") == task.parse("123 + 456=") == list("123+456=")


def test_translate_has_the_seed_sentences():
    assert translate.translate("the ball is blue".split())[0] == "la bola es azul".split()
    spanish, alignment = translate.translate("the black cat drank the milk".split())
    assert spanish == "el gato negro bebió la leche".split()
    # negro looks back at black (the adjective swap); words that agree also look at their
    # noun (el, negro at cat; bebió, past tense, at its subject; la at milk).
    assert alignment == [[0, 2], [2], [1, 2], [3, 2], [4, 5], [5]]


def test_translate_agreement_and_adjective_order():
    spanish, alignment = translate.translate("the big white houses saw a small red bird".split())
    assert spanish == "las casas blancas grandes vieron un pájaro rojo pequeño".split()
    assert [a[0] for a in alignment] == [0, 3, 2, 1, 4, 5, 8, 7, 6]
    present = translate.translate("the cats are big".split())[1]
    assert present == [[0, 1], [1], [2], [3, 1]]   # "are" shows the number itself


def test_translate_held_out_sentences_are_new_combinations_of_known_words(tasks):
    task = tasks["translate"]
    train = task.sample(np.random.default_rng(0), 5000)
    seen = {w for s, t in train for w in s + t}
    sentences = {tuple(s) for s, _ in train}
    for source, target in task.held_out:
        assert set(source + target) <= seen
    assert sum(tuple(s) in sentences for s, _ in task.held_out) == 0


@pytest.mark.parametrize("name", BUILT_IN)
def test_attention_view_and_expected_mask_match_the_model(tasks, name):
    """Labels and expected masks have the shapes of the model's attention for one example."""
    task = tasks[name]
    ma.manual_seed(0)
    config = Config.for_task(task, d_model=16, heads=2, layers=1, ff=16)
    model = build_model(task, config)
    example = task.held_out[0]
    with ma.no_grad():
        task.logits(model, task.batch([example]))
    view = task.attention_view(example)
    assert set(view) == ({"encoder", "decoder", "cross"} if task.kind == "seq2seq" else {"decoder"})
    for kind, (queries, keys) in view.items():
        (*_, module), = attention_modules(model, kind)
        assert module.last_attn_weights.shape[2:] == (len(queries), len(keys))
    expected = task.expected_mask(example)
    if name in ("add", "charlm"):
        assert expected is None
    else:
        kind, mask = expected
        assert mask.shape == (len(view[kind][0]), len(view[kind][1]))
        assert mask.any(-1).sum() == len(example[1])


def test_recall_expected_mask_is_the_induction_pattern(tasks):
    source, target = list("a3c7a3b1|a"), ["3"]
    kind, mask = tasks["recall"].expected_mask((source, target))
    assert kind == "decoder"
    # Row 10 holds the query "a" (after <bos>) and predicts "3", at positions 2 and 6.
    assert np.argwhere(mask).tolist() == [[10, 2], [10, 6]]


def test_parse_and_format(tasks):
    assert tasks["reverse"].parse("12 34") == list("1234")
    assert tasks["translate"].parse("the ball is blue") == ["the", "ball", "is", "blue"]
    assert tasks["translate"].format(["la", "bola"]) == "la bola"
    assert tasks["charlm"].parse("a b") == ["a", " ", "b"]


def test_charlm_splits_train_and_validation(tmp_path):
    letters = np.random.default_rng(0).integers(0, 26, size=20000)
    text = "".join(chr(97 + i) for i in letters)
    path = tmp_path / "abc.txt"
    path.write_text(text)
    task = load_task("charlm", text=str(path))
    assert task.kind == "lm" and task.open_ended
    assert task.baseline_loss == pytest.approx(np.log(26), rel=0.02)
    assert all(t == [] or s == [] for s, t in task.held_out)


@pytest.mark.parametrize("body, message", [
    ("KIND = 'seq2seq'\n", "does not define example"),
    ("KIND = 'tree'\ndef example(rng):\n    return ['a'], ['a']\n", "KIND"),
    ("import no_such_module_here\n", "cannot import"),
    ("KIND = 'lm'\ndef example(rng):\n    return 'ab', 'c'\n", "list of str tokens"),
    ("KIND = 'lm'\ndef example(rng):\n    return ['a'], ['b']\n", "distinct examples"),
    ("KIND = 'lm'\ndef example(rng):\n    raise KeyError('x')\n", r"bad.py:3 in example\(\): KeyError: 'x'"),
])
def test_bad_task_files_raise_task_errors(tmp_path, body, message):
    path = tmp_path / "bad.py"
    path.write_text(body)
    with pytest.raises(TaskError, match=message):
        load_task(path)


def test_unknown_task_and_missing_file():
    with pytest.raises(TaskError, match="unknown task 'nope'.*copy"):
        load_task("nope")
    with pytest.raises(TaskError, match="no task file"):
        load_task("/no/such/task.py")
