"""Models built from microattn.nn: the encoder-decoder Transformer and GPT."""
from .gpt import GPT
from .introspection import AttentionModule, attention_kind, attention_modules
from .seq2seq import Seq2SeqTransformer

__all__ = ["Seq2SeqTransformer", "GPT", "AttentionModule", "attention_kind", "attention_modules"]
