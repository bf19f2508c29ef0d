"""What a run shows while it trains: a tqdm bar on a terminal, a plain line per
evaluation otherwise, nothing with ``--quiet``."""
import sys


def _percent(value):
    return "-" if value is None else f"{100 * value:.1f}%"


def _alignment(value):
    return "-" if value is None else f"{value:.2f}"


def format_metrics(metrics, total):
    """One line for an evaluation."""
    parts = [f"step {metrics['step']}/{total}", f"loss {metrics['loss']:.4f}",
             f"held-out loss {metrics['held_out_loss']:.4f}"]
    if metrics.get("baseline_loss") is not None:
        parts.append(f"(unigram {metrics['baseline_loss']:.4f})")
    parts += [f"exact {_percent(metrics['held_out_exact'])}",
              f"token acc {_percent(metrics['held_out_token_acc'])}",
              f"alignment {_alignment(metrics['alignment'])}",
              f"lr {metrics['lr']:.2e}", f"{metrics['tokens_per_s']:,.0f} tok/s",
              f"{metrics['elapsed_s']:.0f}s"]
    return "  ".join(parts)


class Progress:
    """``mode``: "auto" (a bar if stdout is a terminal, else lines), "bar", "lines", "quiet"."""

    def __init__(self, total, mode="auto", stream=None):
        self.total = total
        self.stream = stream or sys.stdout
        if mode == "auto":
            mode = "bar" if self.stream.isatty() else "lines"
        self.mode = mode
        self.bar = None
        self.last = {}

    def start(self, step):
        if self.mode == "bar":
            from tqdm import tqdm
            self.bar = tqdm(total=self.total, initial=step, file=self.stream, unit="step",
                            dynamic_ncols=True)

    def step(self, step, loss, lr):
        if self.bar is not None:
            self.bar.update(1)
            if step % 10 == 0:
                self.bar.set_postfix_str(
                    f"loss {loss:.3f} exact {_percent(self.last.get('held_out_exact'))} "
                    f"align {_alignment(self.last.get('alignment'))} lr {lr:.1e} "
                    f"{self.last.get('tokens_per_s', 0):,.0f} tok/s", refresh=False)

    def evaluated(self, metrics):
        self.last = metrics
        if self.mode == "lines":
            print(format_metrics(metrics, self.total), file=self.stream, flush=True)
        elif self.bar is not None:
            self.bar.write(format_metrics(metrics, self.total), file=self.stream)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
