"""The model a task trains: an encoder-decoder for seq2seq tasks, a GPT for lm tasks."""
from ..models import GPT, Seq2SeqTransformer
from .memory import check_memory


def build_model(task, config):
    """A fresh model sized by ``config`` for ``task`` (draws its initial weights from
    the generator ``ma.manual_seed`` seeds). RunError, before allocating anything,
    when its sizes would not fit in memory."""
    check_memory(task, config)
    vocab = len(task.tokenizer)
    if task.kind == "seq2seq":
        # Pre-norm: at these sizes it trains faster and more reliably than the paper's post-norm.
        return Seq2SeqTransformer(vocab, vocab, config.d_model, config.heads, config.layers,
                                  config.layers, config.ff, config.dropout, task.model_max_len,
                                  pad_idx=task.tokenizer.pad_id, norm_first=True)
    return GPT(vocab, config.d_model, config.heads, config.layers, task.model_max_len,
               config.ff, config.dropout)
