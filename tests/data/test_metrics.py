"""Held-out metrics: exact match and token accuracy."""
from microattn.data import exact_match, token_accuracy


def test_metrics():
    assert exact_match([["a"], ["b", "c"]], [["a"], ["b"]]) == 0.5
    # "b c" vs "b": b right, the end missing -> 1 of 2; "a" vs "a": 2 of 2
    assert token_accuracy([["a"], ["b", "c"]], [["a"], ["b"]]) == 3 / 4
