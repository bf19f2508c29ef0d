"""The ``microattn`` command line and the op table behind ``microattn gradcheck``."""
import subprocess
import sys

import numpy as np
import pytest

import microattn as ma
from microattn import cli, opcheck, ops

# Public names in microattn.ops that take no gradient, so have no gradcheck case.
NOT_DIFFERENTIABLE = {"eq", "ne", "lt", "le", "gt", "ge", "argmax", "argmin",
                      "double", "float"}


def run(capsys, *argv):
    """``main(argv)`` in-process: (exit code, stdout, stderr)."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_every_command(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "gradcheck" in out


def test_a_command_is_required(capsys):
    code, _, err = run(capsys)
    assert code != 0 and "COMMAND" in err


def test_python_dash_m_microattn_runs_the_cli():
    done = subprocess.run([sys.executable, "-m", "microattn", "gradcheck", "--op", "mul"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "gradcheck: 1 passed, 0 failed" in done.stdout


def test_gradcheck_one_op_passes(capsys):
    code, out, _ = run(capsys, "gradcheck", "--op", "add")
    assert code == 0
    rows = [line for line in out.splitlines() if line.startswith("add ")]
    assert len(rows) == 1 and rows[0].split()[-1] == "pass"
    assert "gradcheck: 1 passed, 0 failed" in out


def test_gradcheck_unknown_op_fails_and_lists_the_known_ones(capsys):
    code, out, err = run(capsys, "gradcheck", "--op", "no_such_op")
    assert code != 0 and out == ""
    assert "no_such_op" in err
    for name in ("add", "matmul", "softmax", "embedding"):
        assert name in err


def test_gradcheck_list_names_every_case_without_running(capsys):
    code, out, _ = run(capsys, "gradcheck", "--list")
    assert code == 0
    assert len(out.splitlines()) == len(opcheck.CASES)
    assert "pass" not in out


def test_every_differentiable_op_has_a_case():
    public = {name for name in dir(ops) if not name.startswith("_")
              and callable(getattr(ops, name))} - NOT_DIFFERENTIABLE
    missing = public - set(opcheck.op_names())
    assert not missing, f"ops without a case in microattn/opcheck.py: {sorted(missing)}"


def test_full_table_all_passes(capsys):
    code, out, _ = run(capsys, "gradcheck")
    assert f"gradcheck: {len(opcheck.CASES)} passed, 0 failed" in out, out
    assert code == 0


def test_table_defines_its_error_columns(capsys):
    _, out, _ = run(capsys, "gradcheck", "--op", "mul", "--seed", "3")
    assert "abs err  max |analytic - numeric|" in out
    assert "rel err" in out and "seed     3" in out


class _WrongExp(ma.Function):
    """A broken exp: its backward forgets the upstream gradient (returns e^x alone)."""

    def forward(ctx, x):
        ctx.save_for_backward(np.exp(x))
        return np.exp(x)

    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return y


def _raises(x):
    raise ValueError("deliberately broken")


def test_a_wrong_backward_is_a_failing_row_and_exit_code_1(capsys, monkeypatch):
    monkeypatch.setattr(opcheck, "CASES", [
        opcheck.Case("add", "right", lambda a, b: a + b, (2, 3), (3,)),
        opcheck.Case("wrong_exp", "", _WrongExp.apply, (2, 3)),
        opcheck.Case("raises", "", _raises, (2,)),
    ])
    code, out, _ = run(capsys, "gradcheck")
    assert code == 1
    results = {line.split()[0]: line.split()[-1] for line in out.splitlines()
               if line.split() and line.split()[0] in ("add", "wrong_exp", "raises")}
    assert results == {"add": "pass", "wrong_exp": "FAIL", "raises": "ERROR"}
    assert "ValueError: deliberately broken" in out
    assert "gradcheck: 1 passed, 2 failed" in out


def test_check_reports_the_errors_it_measured():
    right = opcheck.check(opcheck.Case("mul", "", lambda a, b: a * b, (2, 3), (2, 1)))
    wrong = opcheck.check(opcheck.Case("exp", "", _WrongExp.apply, (3,)))
    assert right.passed and right.abs_err < 1e-7 and right.rel_err < 1e-7
    assert not wrong.passed and wrong.abs_err > 0.1 and wrong.rel_err > 0.1


def test_case_refuses_an_unknown_domain():
    with pytest.raises(ValueError, match="domain must be one of"):
        opcheck.Case("log", "", lambda x: x.log(), (2,), domain="positve")
