"""Tasks: toy problems for a transformer, their tokens, batches and metrics.

    from microattn.data import load_task
    task = load_task("reverse")          # or a task file: load_task("my_task.py")
"""
from .batch import IGNORE, Batch
from .metrics import exact_match, log_loss_baseline, token_accuracy
from .task import HELD_OUT_SIZE, KINDS, Task
from .task_code import TaskError
from .task_file import BUILT_IN, file_hash, is_task_file, load_task
from .tokenizer import BOS, EOS, PAD, SPECIALS, Tokenizer

__all__ = ["load_task", "Task", "Batch", "TaskError", "Tokenizer", "PAD", "BOS", "EOS",
           "SPECIALS", "BUILT_IN", "KINDS", "HELD_OUT_SIZE", "IGNORE", "file_hash",
           "is_task_file", "exact_match", "token_accuracy", "log_loss_baseline"]
