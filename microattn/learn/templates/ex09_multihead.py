# %% [markdown]
# # Exercise 9: multi-head attention by composition, and a transformer block
#
# Multi-head attention is plain attention run on `heads` slices of the
# features at once: project, split the features into heads, attend, merge the
# heads back, project. Here you compose it from tensor ops (autograd writes
# the backward), with the weights of the library's own layers, and then a
# pre-norm encoder block around it. Read docs/attention.md, section 4, and
# docs/transformer.md, "Encoder and decoder layers".
#
# Check: `microattn learn check 9`; hints: `microattn learn hint 9`.

# %%
from microattn import functional as F


def split_heads(x, num_heads):
    """(B, T, E) tensor -> (B, heads, T, E / heads): head h holds features h*d to (h+1)*d - 1.

    Reshape to (B, T, heads, d), then swap the T and heads axes (transpose(1, 2)).
    """
    # solution:begin
    batch, length, width = x.shape
    x = x.reshape(batch, length, num_heads, width // num_heads)  # (B, T, heads, d)
    return x.transpose(1, 2)                                      # (B, heads, T, d)
    # solution:end


def merge_heads(x):
    """(B, heads, T, d) tensor -> (B, T, heads * d): the inverse of split_heads."""
    # solution:begin
    batch, heads, length, width = x.shape
    x = x.transpose(1, 2)                              # (B, T, heads, d)
    return x.reshape(batch, length, heads * width)     # (B, T, E)
    # solution:end


def multi_head_attention(mha, query, key, value, mask=None):
    """Multi-head attention with the weights of ``mha`` (an nn.MultiheadAttention):

        q, k, v = split(q_proj(query)), split(k_proj(key)), split(v_proj(value))
        heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = out_proj(merge(heads))

    query (B, Tq, E), key and value (B, Tk, E) -> (B, Tq, E); mask boolean,
    True where attention is allowed. mha.num_heads is the number of heads.
    """
    # solution:begin
    q = split_heads(mha.q_proj(query), mha.num_heads)   # (B, heads, Tq, d)
    k = split_heads(mha.k_proj(key), mha.num_heads)     # (B, heads, Tk, d)
    v = split_heads(mha.v_proj(value), mha.num_heads)   # (B, heads, Tk, d)
    heads = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return mha.out_proj(merge_heads(heads))
    # solution:end


def encoder_block(layer, x, mask=None):
    """A pre-norm encoder block with the weights of ``layer`` (nn.TransformerEncoderLayer):

        x = x + multi_head_attention(layer.self_attn, n, n, n, mask),   n = layer.norm1(x)
        x = x + layer.linear2(F.relu(layer.linear1(layer.norm2(x))))

    x (B, T, E) -> (B, T, E).
    """
    # solution:begin
    normed = layer.norm1(x)
    x = x + multi_head_attention(layer.self_attn, normed, normed, normed, mask)
    return x + layer.linear2(F.relu(layer.linear1(layer.norm2(x))))
    # solution:end


# %%
if __name__ == "__main__":
    from microattn.learn import check_script
    check_script(9)
