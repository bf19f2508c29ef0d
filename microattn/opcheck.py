"""The table behind ``microattn gradcheck``: every op, checked against finite differences.

Each :class:`Case` runs one op on random float64 inputs (broadcast shapes where
the op broadcasts) and compares the gradients its backward computes with
central differences (:func:`microattn.gradcheck.gradient_errors`). Adding a
case is one line in ``CASES``::

    Case("exp", "", lambda x: x.exp(), (2, 3)),

Inputs are drawn per case from a generator seeded with ``seed``, so a run can
be repeated exactly.
"""
import numpy as np

from . import functional as F
from . import fused, ops
from .core import manual_seed, tensor
from .gradcheck import ATOL, EPS, RTOL, excess_error, gradient_errors

# The pass test is ma.gradcheck's, with its default tolerances.
# Floor of the relative error's denominator, so an all-zero gradient gives 0, not 0/0.
REL_FLOOR = 1e-8

DOMAINS = {
    # standard normal
    "normal": lambda rng, shape: rng.standard_normal(shape),
    # for log, sqrt, fractional powers
    "positive": lambda rng, shape: rng.uniform(0.5, 2.0, shape),
    # |x| >= 0.2, random sign: keeps finite differences off the kink at 0 (relu, abs)
    # and off the pole of a divisor
    "nonzero": lambda rng, shape: rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape),
}

# Constant (non-differentiable) arguments the cases share.
_COND = np.array([[True, False, True, True], [False, True, False, True],
                  [True, True, False, False]])                       # (3, 4)
_MASK = np.array([[True], [False], [True]])                         # (3, 1)
_ROWS = np.array([0, 2, 0])                                         # repeats row 0
_IDS = tensor([[0, 3, 1, 3], [4, 0, 0, 2]])                         # (2, 4) into 5 rows
_TARGETS = tensor([[0, 4, -1], [2, 2, 1]])                          # (2, 3), one ignored
_ALLOWED = np.array([[True, False, True, True, False],
                     [False, False, False, False, False],             # a fully masked row
                     [True, True, True, True, True]])                 # (3, 5)


def _with_seed(fn, *args):
    """fn(*args) with the generator reseeded first, so every call draws the same
    random mask (finite differences call fn many times)."""
    manual_seed(0)
    return fn(*args)


class Case:
    """One row of the table: ``fn(*inputs)`` with float64 inputs of ``shapes``.

    ``op`` is the op's name (what ``--op`` selects), ``what`` tells this case
    apart from the op's other cases, and ``domain`` (a key of ``DOMAINS``)
    says where the input values are drawn from.
    """

    def __init__(self, op, what, fn, *shapes, domain="normal"):
        if domain not in DOMAINS:
            raise ValueError(f"Case {op!r}: domain must be one of {sorted(DOMAINS)}, got {domain!r}")
        self.op, self.what, self.fn, self.shapes, self.domain = op, what, fn, shapes, domain

    def inputs(self, seed):
        rng = np.random.default_rng(seed)
        return [tensor(DOMAINS[self.domain](rng, shape), requires_grad=True)
                for shape in self.shapes]

    def __repr__(self):
        return f"Case({self.op!r}, {self.what!r}, shapes={self.shapes})"


CASES = [
    # elementwise arithmetic, broadcasting against missing and 1-sized dims
    Case("add", "broadcast", lambda a, b: a + b, (2, 3, 4), (3, 1)),
    Case("sub", "broadcast", lambda a, b: a - b, (4, 1), (3,)),
    Case("mul", "broadcast", lambda a, b: a * b, (2, 1, 4), (3, 1)),
    Case("div", "broadcast", lambda a, b: a / b, (2, 3), (2, 1), domain="nonzero"),
    Case("neg", "", lambda x: -x, (2, 3)),
    Case("pow", "tensor ** 2.5", lambda x: x ** 2.5, (2, 3), domain="positive"),
    Case("pow", "2.0 ** tensor", lambda x: 2.0 ** x, (2, 3)),
    Case("pow", "tensor ** tensor", lambda a, b: a ** b, (2, 3), (3,), domain="positive"),
    # matmul in each of its shapes
    Case("matmul", "1-D @ 1-D", lambda a, b: a @ b, (3,), (3,)),
    Case("matmul", "1-D @ 2-D", lambda a, b: a @ b, (3,), (3, 4)),
    Case("matmul", "2-D @ 1-D", lambda a, b: a @ b, (2, 3), (3,)),
    Case("matmul", "2-D @ 2-D", lambda a, b: a @ b, (2, 3), (3, 4)),
    Case("matmul", "batched broadcast", lambda a, b: a @ b, (2, 1, 3, 4), (3, 4, 2)),
    # unary functions
    Case("exp", "", lambda x: x.exp(), (2, 3)),
    Case("log", "", lambda x: x.log(), (2, 3), domain="positive"),
    Case("sqrt", "", lambda x: x.sqrt(), (2, 3), domain="positive"),
    Case("tanh", "", lambda x: x.tanh(), (2, 3)),
    Case("sigmoid", "", lambda x: x.sigmoid(), (2, 3)),
    Case("relu", "", lambda x: x.relu(), (2, 3), domain="nonzero"),
    Case("gelu", "approximate='none'", lambda x: x.gelu(), (2, 3)),
    Case("gelu", "approximate='tanh'", lambda x: x.gelu(approximate="tanh"), (2, 3)),
    Case("abs", "", lambda x: x.abs(), (2, 3), domain="nonzero"),
    # reductions
    Case("sum", "all", lambda x: x.sum(), (2, 3, 4)),
    Case("sum", "dim=1, keepdim", lambda x: x.sum(dim=1, keepdim=True), (2, 3, 4)),
    Case("sum", "dim=(0, 2)", lambda x: x.sum(dim=(0, 2)), (2, 3, 4)),
    Case("mean", "dim=-1", lambda x: x.mean(dim=-1), (2, 3, 4)),
    Case("var", "all", lambda x: x.var(), (2, 3, 4)),
    Case("var", "dim=1, correction=0", lambda x: x.var(dim=1, correction=0), (2, 3, 4)),
    Case("max", "all", lambda x: x.max(), (2, 3, 4)),
    Case("max", "dim=1 (values, indices)", lambda x: x.max(dim=1), (2, 3, 4)),
    Case("min", "dim=-1, keepdim", lambda x: x.min(dim=-1, keepdim=True), (2, 3, 4)),
    Case("amax", "dim=1", lambda x: x.amax(dim=1), (2, 3, 4)),
    Case("amin", "dim=(0, 2), keepdim", lambda x: x.amin(dim=(0, 2), keepdim=True), (2, 3, 4)),
    # shapes
    Case("reshape", "(2, 3, 4) -> (6, 4)", lambda x: x.reshape(6, 4), (2, 3, 4)),
    Case("view", "(2, 3, 4) -> (4, -1)", lambda x: x.view((4, -1)), (2, 3, 4)),
    Case("flatten", "", lambda x: x.flatten(), (2, 3, 4)),
    Case("contiguous", "of a transpose", lambda x: x.transpose(0, 1).contiguous(), (2, 3)),
    Case("transpose", "(0, 2)", lambda x: x.transpose(0, 2), (2, 3, 4)),
    Case("permute", "(2, 0, 1)", lambda x: x.permute(2, 0, 1), (2, 3, 4)),
    Case("unsqueeze", "dim=1", lambda x: x.unsqueeze(1), (2, 3)),
    Case("squeeze", "dim=1", lambda x: x.squeeze(1), (3, 1, 4)),
    Case("squeeze", "all", lambda x: x.squeeze(), (1, 3, 1)),
    Case("expand", "(3, 1) -> (2, 3, 4)", lambda x: x.expand(2, 3, 4), (3, 1)),
    Case("getitem", "x[1:, ::2]", lambda x: x[1:, ::2], (3, 5)),
    Case("getitem", "x[[0, 2, 0]]", lambda x: x[_ROWS], (3, 4)),
    Case("getitem", "x[bool mask]", lambda x: x[_COND], (3, 4)),
    Case("cat", "dim=1", lambda a, b: ops.cat([a, b], dim=1), (2, 3), (2, 1)),
    Case("stack", "dim=1", lambda a, b: ops.stack([a, b], dim=1), (2, 3), (2, 3)),
    # selection and masking, with broadcast condition and mask
    Case("where", "cond (3, 4)", lambda a, b: ops.where(tensor(_COND), a, b), (2, 3, 4), (4,)),
    Case("masked_fill", "mask (3, 1)", lambda x: x.masked_fill(tensor(_MASK), -1.0), (2, 3, 4)),
    # fused nn ops
    Case("softmax", "dim=-1", lambda x: x.softmax(-1), (2, 3, 4)),
    Case("log_softmax", "dim=1", lambda x: x.log_softmax(1), (2, 3, 4)),
    Case("embedding", "ids (2, 4)", lambda w: fused.embedding(_IDS, w), (5, 3)),
    # fused functional ops (their composed twins are checked against them in the tests)
    Case("layer_norm", "over the last dim", lambda x, w, b: F.layer_norm(x, (4,), w, b),
         (2, 3, 4), (4,), (4,)),
    Case("cross_entropy", "ignore_index, label_smoothing",
         lambda z: F.cross_entropy(z, _TARGETS, ignore_index=-1, label_smoothing=0.1), (2, 5, 3)),
    Case("dropout", "p=0.3, one mask", lambda x: _with_seed(F.dropout, x, 0.3), (2, 3, 4)),
    Case("scaled_dot_product_attention", "causal, Tq != Tk",
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
         (2, 3, 4), (2, 5, 4), (2, 5, 4)),
    Case("scaled_dot_product_attention", "bool mask (Tq, Tk)",
         lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=_ALLOWED),
         (2, 3, 4), (2, 5, 4), (2, 5, 3)),
]


class Result:
    """What checking one case found: the worst errors, and whether it passed."""

    def __init__(self, case, abs_err=float("nan"), rel_err=float("nan"), passed=False, error=None):
        self.case, self.abs_err, self.rel_err = case, abs_err, rel_err
        self.passed, self.error = passed, error


def check(case, seed=0):
    """Gradcheck one case. Errors raised by the op are caught and reported as a failure."""
    try:
        checked = gradient_errors(case.fn, case.inputs(seed), eps=EPS, seed=seed)
    except Exception as error:  # a broken op is a row of the table, not a crash
        return Result(case, error=f"{type(error).__name__}: {error}")
    abs_errs, rel_errs, passed = [], [], True
    for _, analytic, numeric in checked:
        diff = np.abs(analytic - numeric)
        worst = np.max(diff, initial=0.0)  # NaN propagates: a NaN gradient shows as nan
        abs_errs.append(worst)
        rel_errs.append(worst / max(np.max(np.abs(numeric), initial=0.0), REL_FLOOR))
        passed &= bool(excess_error(analytic, numeric).max(initial=0.0) <= 0)  # NaN fails
    abs_err, rel_err = float(np.max(abs_errs)), float(np.max(rel_errs))
    return Result(case, abs_err, rel_err, passed)


def op_names(cases=None):
    """The distinct op names of ``cases`` (all of ``CASES`` by default), in table order."""
    return list(dict.fromkeys(c.op for c in (CASES if cases is None else cases)))


def format_shapes(shapes):
    return ", ".join(str(tuple(s)) for s in shapes)


HEADER = f"""\
Gradients from backward() (analytic) against central differences (numeric, eps={EPS:g}),
on float64 inputs, for a random projection sum(v * op(inputs)).
  abs err  max |analytic - numeric| over every element of every input
  rel err  max over inputs of: abs err / max(max |numeric|, {REL_FLOOR:g})
  result   pass when |analytic - numeric| <= {ATOL:g} + {RTOL:g} * |numeric| at every element
           (the test of ma.gradcheck)"""


def format_table(results, seed):
    """The results as an aligned text table, with the header that defines its columns."""
    rows = [("op", "case", "input shapes", "abs err", "rel err", "result")]
    for r in results:
        errors = ("-", "-") if r.error else (f"{r.abs_err:.1e}", f"{r.rel_err:.1e}")
        rows.append((r.case.op, r.case.what, format_shapes(r.case.shapes), *errors,
                     "pass" if r.passed else ("ERROR" if r.error else "FAIL")))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [HEADER, f"  seed     {seed}", ""]
    for k, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    errors = [r for r in results if r.error]
    if errors:
        lines.append("")
        lines.extend(f"ERROR {r.case.op}{f' [{r.case.what}]' if r.case.what else ''}: {r.error}"
                     for r in errors)
    failed = sum(not r.passed for r in results)
    lines.append("")
    lines.append(f"gradcheck: {len(results) - failed} passed, {failed} failed")
    return "\n".join(lines)
