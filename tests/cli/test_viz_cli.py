"""The picture commands: ``microattn graph`` and ``microattn attention``."""
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
from PIL import Image

import microattn as ma
from microattn import cli
from microattn.cli import attention
from viz_helpers import require
from microattn.data import load_task
from microattn.train import Config, build_model


def microattn(*argv):
    return subprocess.run([sys.executable, "-m", "microattn", *argv], capture_output=True,
                          text=True, timeout=120)


def test_help_lists_the_picture_commands():
    done = microattn("--help")
    assert done.returncode == 0
    for command in ("attention", "graph", "gradcheck"):
        assert command in done.stdout


@pytest.mark.parametrize("what, op", [("attention", "Softmax"),
                                      ("attention-fused", "ScaledDotProductAttention"),
                                      ("layer", "TransformerEncoderLayer"),
                                      ("model", "TransformerEncoderLayer x 2"),
                                      ("mlp-scalar", "h0 = Tanh")])
def test_graph_of_each_piece(tmp_path, what, op):
    require("Graphviz's dot", shutil.which("dot"))
    out = tmp_path / f"{what}.svg"
    done = microattn("graph", "--what", what, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out}: ")
    assert op in out.read_text(encoding="utf-8")


def test_graph_max_depth_and_png(tmp_path):
    require("Graphviz's dot", shutil.which("dot"))
    out = tmp_path / "model.png"
    done = microattn("graph", "--max-depth", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "13 nodes drawn of 84" in done.stdout
    with Image.open(out) as image:
        assert image.format == "PNG" and image.size[0] > 200


@pytest.mark.parametrize("argv, message", [
    (["graph", "--max-depth", "0"], "--max-depth should be at least 1"),
    (["graph", "--out", "x.jpg"], "--out should end in .svg, .png or .pdf"),
    (["graph", "/no/such/run"], ""),
    (["attention", "/no/such/run", "--input", "1 2 3"], ""),
])
def test_bad_input_is_one_line_and_exit_2(argv, message):
    done = microattn(*argv)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"microattn {argv[0]}: error: ")
    assert message in lines[0]


@pytest.fixture
def fake_run(monkeypatch, tmp_path):
    """``microattn attention`` on a model of the reverse task, as load_run would give it."""
    ma.manual_seed(0)
    task = load_task("reverse")
    model = build_model(task, Config.for_task(task, d_model=16, heads=2, layers=2, ff=32))
    model.eval()
    loaded = SimpleNamespace(model=model, task=task, config={}, dir=tmp_path)
    monkeypatch.setattr(attention, "open_run", lambda run_dir, trust_task=False: loaded)
    return loaded


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_attention_grid_and_one_head(fake_run, tmp_path, capsys):
    grid = tmp_path / "grid.png"
    code, out, err = run_cli(capsys, "attention", "RUN", "--input", "1 2 3 4", "--out", str(grid))
    assert code == 0, err
    with Image.open(grid) as image:
        assert image.size[1] > 3 * image.size[0] / 2 and image.size[0] <= 1600  # kinds stacked
    head = tmp_path / "head.png"
    code, out, err = run_cli(capsys, "attention", "RUN", "--input", "1 2 3 4", "--layer", "1",
                             "--head", "1", "--out", str(head))
    assert code == 0, err
    assert out.strip() == f"wrote {head}"
    assert head.stat().st_size > 1000
    assert fake_run.model.training is False


def test_attention_bad_layer_and_tokens(fake_run, capsys):
    code, _, err = run_cli(capsys, "attention", "RUN", "--input", "1 2", "--layer", "5")
    assert code == 2 and "layers 0..1 and heads 0..1, not layer 5 head 0" in err
    code, _, err = run_cli(capsys, "attention", "RUN", "--input", "1 x 2")  # x is not a digit
    assert code == 2 and err.startswith("microattn attention: error: cannot run the model")
    assert len(err.splitlines()) == 1


RUN_PICTURES = ("loss.png", "attention.png", "attention.gif", "attention_strip.png",
                "gradflow.png", "graph.svg", "report.html")


def test_train_draws_every_picture_into_the_run_folder(tmp_path):
    """`microattn train` attaches RunPictures: the run folder gets every picture and
    the report, and the last lines say where they are."""
    require("Graphviz's dot", shutil.which("dot"))
    run_dir = tmp_path / "run"
    done = microattn("train", "reverse", "--steps", "12", "--eval-every", "6", "--d-model", "16",
                     "--heads", "2", "--layers", "1", "--ff", "32", "--batch-size", "8",
                     "--out", str(run_dir))
    assert done.returncode == 0, done.stderr
    for name in RUN_PICTURES:
        assert (run_dir / name).stat().st_size > 1000, name
    lines = done.stdout.splitlines()
    assert lines[-2] == f"report: {run_dir / 'report.html'} (open it in a browser)"
    assert lines[-1].startswith("pictures: ") and str(run_dir / "attention.gif") in lines[-1]
    with Image.open(run_dir / "attention.gif") as gif:
        assert gif.n_frames == 13  # steps 0..12: a snapshot every step (12 // 40 -> 1)
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "<svg" in page and "model's answer" in page  # the graph; the held-out answers


def test_no_pictures_draws_nothing(tmp_path):
    run_dir = tmp_path / "run"
    done = microattn("train", "reverse", "--steps", "2", "--eval-every", "2", "--d-model", "16",
                     "--heads", "2", "--layers", "1", "--ff", "32", "--batch-size", "8",
                     "--out", str(run_dir), "--no-pictures")
    assert done.returncode == 0, done.stderr
    assert {p.name for p in run_dir.iterdir()} == {"config.json", "metrics.jsonl",
                                                   "checkpoint.ma", ".lock"}
    assert "report:" not in done.stdout and "pictures:" not in done.stdout
