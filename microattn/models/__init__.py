"""Models built from microattn.nn: the encoder-decoder Transformer and GPT."""
from .gpt import GPT
from .seq2seq import Seq2SeqTransformer

__all__ = ["Seq2SeqTransformer", "GPT"]
