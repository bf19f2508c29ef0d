"""Printing a trained run's scores and a table of examples (shared by train and eval)."""


def scores_line(metrics):
    """One line from an evaluation's metrics: exact match, token accuracy, loss, alignment."""
    parts = []
    if metrics["held_out_exact"] is not None:
        parts.append(f"held-out exact match {100 * metrics['held_out_exact']:.1f}%")
    parts.append(f"token accuracy {100 * metrics['held_out_token_acc']:.1f}%")
    loss, baseline = metrics["held_out_loss"], metrics.get("baseline_loss")
    text = f"held-out loss {loss:.4f}"
    if baseline is not None:
        text += f" nats/token (unigram baseline {baseline:.4f}, ratio {loss / baseline:.2f})"
    parts.append(text)
    if metrics["alignment"] is not None:
        name, head = metrics["alignment_head"]
        parts.append(f"alignment {metrics['alignment']:.2f} ({name} head {head})")
    return ", ".join(parts)


def as_metrics(scores, task):
    """``evaluate``'s result under the metrics.jsonl names."""
    return {"held_out_exact": scores["exact"], "held_out_token_acc": scores["token_acc"],
            "held_out_loss": scores["loss"], "alignment": scores["alignment"],
            "alignment_head": scores["alignment_head"], "baseline_loss": task.baseline_loss}


def examples_table(task, examples, predictions, count):
    """Lines of a table of ``count`` examples, wrong answers first, each marked."""
    rows = [(s, t, p) for (s, t), p in zip(examples, predictions)]
    rows = sorted(rows, key=lambda r: r[1] == r[2])[:count]
    cells = [(task.format(s), task.format(t, answer=True), task.format(p, answer=True),
              "right" if t == p else "WRONG")
             for s, t, p in rows]
    header = ("source", "target", "prediction", "")
    widths = [max(len(c[i]) for c in cells + [header]) for i in range(3)]
    lines = []
    for row in [header] + cells:
        lines.append("  ".join(f"{c:<{w}}" for c, w in zip(row, widths)) + "  " + row[3])
    return [line.rstrip() for line in lines]
