"""Token ids as the models take them."""
from ..core.tensor import unwrap


def token_array(tokens, name="tokens"):
    """The int ndarray (B, T) behind token ids given as a Tensor, an ndarray or nested lists."""
    array = unwrap(tokens)
    if array.dtype.kind not in "iu" or array.ndim != 2:
        raise ValueError(f"{name} should be integer token ids of shape (B, T), got dtype "
                         f"{array.dtype} and shape {array.shape}")
    return array
