"""``learn check``: run an exercise's check on a workspace, time it, record it in the
progress, and word the result (passed; not done yet; or the failure with its diagnosis)."""
import time
from dataclasses import dataclass

import numpy as np

from .comparison import Failure, NotDone, learner_error
from .exercises import TRAIN_TARGET, exercise

SEED = 0


@dataclass
class Result:
    number: int
    status: str          # "passed", "failed" or "not done"
    seconds: float
    cases: int = 0
    failure: Failure = None
    message: str = ""    # for "not done": what is missing

    @property
    def passed(self):
        return self.status == "passed"


def _train_result(workspace):
    record = workspace.progress().get("train")
    if not record:
        return "not done", (f"exercise 10 is not done yet: when 4 to 8 pass, run "
                            f"`microattn learn train {workspace.dir}`")
    exact = record["held_out_exact"]
    if exact >= TRAIN_TARGET:
        return "passed", ""
    return "failed", (f"the last run ({record['run']}) reached {exact:.1%} held-out exact "
                      f"match at step {record['step']}; {TRAIN_TARGET:.0%} completes exercise "
                      f"10 (train longer: --steps)")


def check_exercise(workspace, number, seed=SEED):
    """Check exercise ``number`` of ``workspace``; records the result in its progress."""
    ex = exercise(number)
    started = time.perf_counter()
    if ex.check is None:
        status, message = _train_result(workspace)
        return Result(number, status, time.perf_counter() - started, message=message)
    result = Result(number, "failed", 0.0)
    try:
        try:
            module = workspace.load(number)
        except FileNotFoundError:
            raise NotDone(f"{ex.file} is missing from {workspace.dir}") from None
        except Exception as error:  # the learner's file does not even run
            raise learner_error(f"running {ex.file}", error) from None
        with np.errstate(all="ignore"):   # overflow in a learner's exp is diagnosed, not warned
            result.cases = ex.check(module, np.random.default_rng(seed))
        result.status = "passed"
    except NotDone as missing:
        result.status, result.message = "not done", str(missing)
    except Failure as failure:
        result.failure = failure
    result.seconds = time.perf_counter() - started
    workspace.record_check(number, result.status, result.seconds)
    return result


def format_result(result):
    """The lines `learn check` prints for one exercise."""
    ex = exercise(result.number)
    head = f"exercise {ex.number:>2}  {ex.title}: "
    if result.passed:
        cases = f", {result.cases} cases" if result.cases else ""
        return [f"{head}passed ({result.seconds:.1f} s{cases})"]
    if result.status == "not done":
        return [f"{head}not done yet", f"    {result.message}",
                f"    a hint: microattn learn hint {ex.number}"]
    lines = [f"{head}FAILED ({result.seconds:.1f} s)"]
    if result.failure is None:
        return lines + [f"    {result.message}"]
    lines += [f"    {result.failure.what}", f"    {result.failure.detail}"]
    mistake = result.failure.mistake
    if mistake is not None:
        lines += [f"    diagnosis: {mistake.name}: {mistake.fix}",
                  f"    derived in: {mistake.link}"]
    else:
        lines += [f"    stuck? microattn learn hint {ex.number}"]
    return lines
