"""Tasks: toy problems for a transformer, their tokens, batches and metrics.

    from microattn.data import load_task
    task = load_task("reverse")          # or a task file: load_task("my_task.py")
"""
from .metrics import exact_match, token_accuracy
from .task import (BUILT_IN, HELD_OUT_SIZE, IGNORE, Batch, Task, TaskError, load_task)
from .tokenizer import BOS, EOS, PAD, Tokenizer

__all__ = ["load_task", "Task", "Batch", "TaskError", "Tokenizer", "PAD", "BOS", "EOS",
           "BUILT_IN", "HELD_OUT_SIZE", "IGNORE", 
           "exact_match", "token_accuracy"]
