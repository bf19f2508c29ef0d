"""PyTorch idioms, each run twice: with ``torch`` bound to PyTorch and with it
bound to microattn. Each must give the same answer (values, shapes, dtypes,
gradients) or, where PyTorch raises, the same exception type.

Each idiom is a snippet that leaves its answer in ``out``; names available:
``torch``, ``nn``, ``F``, ``np``, and fixed arrays ``A`` (2, 3, 4) and ``M`` (3, 3).
The number that pass is what docs/pytorch.md reports.
"""
import warnings

import numpy as np
import pytest

import microattn as ma

torch = pytest.importorskip("torch")

IDIOMS = {
    # creation
    "tensor_float_default": "out = torch.tensor([1.5, 2.0])",
    "tensor_int_default": "out = torch.tensor([1, 2, 3])",
    "tensor_bool": "out = torch.tensor([True, False])",
    "tensor_dtype_obj": "out = torch.tensor([1, 2], dtype=torch.float32)",
    "tensor_device": "out = torch.tensor([1.0], device='cpu')",
    "zeros_tuple": "out = torch.zeros((2, 3))",
    "ones_varargs_dtype": "out = torch.ones(2, 3, dtype=torch.long)",
    "full": "out = torch.full((2, 2), 7.0)",
    "arange_long": "out = torch.arange(0, 5, dtype=torch.long)",
    "arange_float": "out = torch.arange(0.0, 1.0, 0.25)",
    "linspace": "out = torch.linspace(0, 1, 5)",
    "eye": "out = torch.eye(3)",
    "empty_shape": "out = torch.empty(2, 3).shape",
    "zeros_like": "out = torch.zeros_like(torch.tensor(A))",
    "full_like": "out = torch.full_like(torch.tensor(M), 2.5)",
    "from_numpy_shares": "a = np.zeros(3); t = torch.from_numpy(a); a[0] = 5; out = t",
    "as_tensor": "out = torch.as_tensor([1.0, 2.0])",
    "randint_shape": "out = torch.randint(10, (3,)).shape",
    "randint_low_high": "t = torch.randint(5, 8, (100,)); out = (t.min() >= 5).item() and (t.max() < 8).item()",
    "randint_bad_range": "out = torch.randint(10, 3, (3,))",
    "randn_shape_dtype": "t = torch.randn(4, 5); out = (t.shape, t.dtype == torch.float32)",
    "manual_seed_repeats": "torch.manual_seed(3); a = torch.randn(3); torch.manual_seed(3); out = torch.equal(a, torch.randn(3))",
    "multinomial_shape": "out = torch.multinomial(torch.tensor([[0.0, 1.0], [1.0, 0.0]]), 1)",
    "is_tensor": "out = (torch.is_tensor(torch.ones(1)), torch.is_tensor([1]))",
    # dtypes and devices
    "dtype_eq": "out = torch.ones(2).dtype == torch.float32",
    "long_cast": "out = torch.tensor([1.7, -2.2]).long()",
    "int_bool_half": "t = torch.tensor([0.0, 1.5]); out = (t.int(), t.bool(), t.half().dtype == torch.float16)",
    "to_dtype": "out = torch.tensor([1, 2]).to(torch.float64)",
    "type_names": "out = [torch.ones(1, dtype=d).type() for d in (torch.float32, torch.float64, torch.long, torch.int32, torch.uint8, torch.bool)]",
    "type_by_name": "out = torch.ones(2).type('torch.LongTensor')",
    "to_cpu_same": "t = torch.ones(2); out = t.to('cpu') is t",
    "type_as": "out = torch.tensor([1, 2]).type_as(torch.ones(1))",
    "device_type": "out = torch.ones(1).device.type",
    "is_floating_point": "out = (torch.ones(1).is_floating_point(), torch.ones(1, dtype=torch.long).is_floating_point())",
    "model_to": "m = nn.Linear(2, 2).to('cpu').to(torch.float64); out = m.weight.dtype == torch.float64",
    # 0-d tensors as numbers
    "int_of_0d": "out = int(torch.tensor(3))",
    "float_of_0d": "out = float(torch.tensor(2.5))",
    "bool_of_0d": "out = bool(torch.tensor(0.0))",
    "format_0d": "out = f'{torch.tensor(3.14159):.3f}'",
    "index_with_0d": "out = [10, 20, 30][torch.tensor(1)]",
    "slice_with_0d": "t = torch.tensor(1); out = list(range(10))[t:t + 3]",
    "item": "out = torch.tensor([[4.0]]).item()",
    "repr_floats": "out = repr(torch.tensor([1.5, 2.0]))",
    "repr_ints": "out = repr(torch.tensor([1, 2]))",
    "repr_whole_floats": "out = repr(torch.tensor([1.0, 2.0]))",
    "repr_small": "out = repr(torch.tensor([1e-5, 1.0]))",
    "repr_grad_fn": "out = repr(torch.tensor([1.0], requires_grad=True) * 2)",
    # shapes
    "view_minus_one": "out = torch.tensor(A).view(-1, 4)",
    "reshape_tuple": "out = torch.tensor(A).reshape((4, 6))",
    "permute": "out = torch.tensor(A).permute(2, 0, 1).shape",
    "transpose_contiguous_view": "out = torch.tensor(A).transpose(1, 2).contiguous().view(2, -1)",
    "flatten_start_end": "out = torch.tensor(A).flatten(1).shape",
    "flatten_range": "out = torch.zeros(2, 3, 4, 5).flatten(1, 2).shape",
    "unsqueeze_squeeze": "out = torch.tensor(A).unsqueeze(0).squeeze(0).shape",
    "squeeze_0d_bad_dim": "out = torch.tensor(1.0).squeeze(dim=10)",
    "split_size": "out = [t.shape for t in torch.tensor(A).split(3, dim=2)]",
    "split_sections": "out = torch.tensor(A).split([1, 2], dim=1)",
    "chunk": "out = torch.arange(10).chunk(3)",
    "unbind": "out = torch.tensor(M).unbind(1)",
    "repeat": "out = torch.tensor([[1, 2]]).repeat(2, 3)",
    "repeat_interleave": "out = torch.tensor([1, 2, 3]).repeat_interleave(2)",
    "flip": "out = torch.tensor(A).flip(-1)",
    "t_and_mT": "out = (torch.tensor(M).t(), torch.tensor(A).mT.shape)",
    "tril_triu": "out = (torch.tril(torch.ones(3, 3)), torch.ones(3, 3).triu(1))",
    "cat_stack": "a = torch.ones(2, 3); out = (torch.cat([a, a], dim=1).shape, torch.stack((a, a)).shape)",
    "expand": "out = torch.tensor([[1.0], [2.0]]).expand(2, 3)",
    "size_dim": "t = torch.tensor(A); out = (t.size(), t.size(-1), t.dim(), t.numel())",
    # indexing
    "adv_index_int_list": "out = torch.tensor(A)[0, :, [0, 2, 3, 1, 1]]",
    "adv_index_keepdim": "out = torch.tensor(A)[:, [-1], :]",
    "bool_mask_index": "t = torch.tensor(M); out = t[t > 4]",
    "setitem_mask": "t = torch.tensor(M); t[t < 3] = -1.0; out = t",
    "setitem_slice": "t = torch.zeros(3, 3); t[:, 1] = torch.tensor([1.0, 2.0, 3.0]); out = t",
    "topk_mask_idiom": "l = torch.tensor(M); v, _ = torch.topk(l, 2); l[l < v[:, [-1]]] = -float('Inf'); out = l",
    "index_grad": "x = torch.tensor(A, requires_grad=True); x[0, :, [0, 2, 2]].sum().backward(); out = x.grad",
    # math
    "sin_cos_tan": "t = torch.tensor(M) / 10; out = (t.sin(), torch.cos(t), t.tan())",
    "square_rsqrt": "t = torch.tensor(M) + 1; out = (t.square(), t.rsqrt())",
    "log2_exp2": "t = torch.tensor(M) + 1; out = (torch.log2(t), torch.exp2(t))",
    "sign_floor_ceil_trunc": "t = torch.tensor([-1.5, 0.0, 2.7]); out = (t.sign(), t.floor(), t.ceil(), t.trunc())",
    "clamp_clip": "t = torch.tensor(M); out = (t.clamp(2, 5), t.clip(min=3), torch.clamp(t, max=1))",
    "maximum_minimum": "a = torch.tensor(M); b = 8 - a; out = (torch.maximum(a, b), torch.minimum(a, b))",
    "max_two_tensors": "a = torch.tensor(M); out = torch.max(a, 8 - a)",
    "std_norm": "t = torch.tensor(A); out = (t.std(), t.std(dim=1), t.norm(), t.norm(dim=-1))",
    "cumsum": "out = torch.tensor(M).cumsum(dim=0)",
    "logsumexp": "out = torch.tensor(A).logsumexp(dim=-1)",
    "floordiv_mod": "t = torch.tensor([-7, 7, 5]); out = (t // 2, t % 3)",
    "floordiv_backward_error": "x = torch.tensor([3.5, -2.0], requires_grad=True); (x // 2).sum().backward(); out = x.grad",
    "floordiv_requires_grad": "out = (torch.tensor([3.5], requires_grad=True) // 2).requires_grad",
    "bool_ops": "a = torch.tensor([True, False, True]); b = torch.tensor([True, True, False]); out = (~a, a & b, a | b)",
    "all_any": "t = torch.tensor(M) > 2; out = (t.all(), t.any(), t.any(dim=0))",
    "allclose_isclose": "a = torch.ones(3); out = (torch.allclose(a, a + 1e-9), torch.isclose(a, a + 1).tolist())",
    "sum_axis_keepdims": "out = torch.tensor(A).sum(axis=1, keepdims=True)",
    "mean_dim_tuple": "out = torch.tensor(A).mean(dim=(0, 2))",
    "max_dim_values_indices": "r = torch.tensor(M).max(dim=1); out = (r.values, r.indices)",
    "argmax_argmin": "t = torch.tensor(A); out = (t.argmax(), t.argmin(dim=2))",
    "einsum": "a = torch.tensor(A); out = torch.einsum('bij,bkj->bik', a, a)",
    "bmm_matmul": "a = torch.tensor(A); out = (torch.bmm(a, a.transpose(1, 2)), torch.matmul(a[0], a[0].T))",
    "function_forms": "t = torch.tensor(M) / 9; out = (torch.exp(t), torch.softmax(t, dim=-1), torch.tanh(t), torch.sqrt(t))",
    "int_promotion": "out = torch.tensor([1, 2]) * 2.5",
    "true_div_ints": "out = torch.tensor([1, 2]) / 2",
    # selection
    "gather": "t = torch.tensor(M); out = t.gather(1, torch.tensor([[0], [2], [1]]))",
    "scatter": "out = torch.zeros(3, 3).scatter(1, torch.tensor([[0], [2], [1]]), 5.0)",
    "scatter_add": "out = torch.zeros(3).scatter_add(0, torch.tensor([0, 0, 2]), torch.tensor([1.0, 2.0, 3.0]))",
    "index_select": "out = torch.tensor(M).index_select(0, torch.tensor([2, 0]))",
    "masked_select": "t = torch.tensor(M); out = t.masked_select(t > 5)",
    "sort_argsort": "t = torch.tensor([3.0, 1.0, 2.0]); out = (t.sort(), t.argsort(descending=True))",
    "topk": "out = torch.tensor([1.0, 5.0, 3.0, 4.0]).topk(2)",
    # in-place
    "sgd_by_hand": ("w = torch.tensor([1.0, 2.0], requires_grad=True); (w * w).sum().backward()\n"
                    "with torch.no_grad():\n    w -= 0.1 * w.grad\n    w.grad.zero_()\n"
                    "out = (w, w.grad)"),
    "inplace_methods": "t = torch.ones(3); t.add_(1).mul_(3).sub_(1).div_(2); out = t",
    "fill_zero_copy": "t = torch.ones(3); t.fill_(4); u = torch.zeros(3); u.copy_(t); t.zero_(); out = (t, u)",
    "clamp_masked_fill_": "t = torch.tensor(M); t.clamp_(1, 6); t.masked_fill_(t > 5, 0.0); out = t",
    "iadd_shares": "t = torch.zeros(2); u = t; u += 1; out = t",
    "augmented_index_assignment_grad": ("w = torch.tensor(M, requires_grad=True); h = w * 2; h[0] += w[1]; h[:, 1] *= 3\n"
                                        "(h * h).sum().backward(); out = (h, w.grad)"),
    "augmented_repeated_index": "x = torch.zeros(3); x[[0, 0]] += 1; out = x",
    "view_of_leaf_inplace_error": "x = torch.ones(2, requires_grad=True); x[0].add_(1); out = x",
    "augmented_view_of_leaf_error": "x = torch.ones(2, requires_grad=True); x[0] += 1; out = x",
    "inplace_through_views_writes_base": "x = torch.ones(3); x[0].add_(1); x[1:].mul_(3); x.view(3)[2] = 7; out = x",
    "inplace_method_on_view_of_graph_tensor": ("x = torch.ones(2, requires_grad=True); w = torch.ones(2, requires_grad=True)\n"
                                               "h = x * 2; h[0].mul_(w[0]); h.sum().backward(); out = (x.grad, w.grad)"),
    "augmented_view_in_a_variable": ("x = torch.ones(2, 2, requires_grad=True); w = torch.ones(2, requires_grad=True)\n"
                                     "h = x * 2; v = h[0]; v += w; h.sum().backward(); out = (x.grad, w.grad)"),
    "inplace_leaf_error": "w = torch.ones(2, requires_grad=True); w.add_(1); out = w",
    "version_error": "w = torch.tensor([1.0, 2.0], requires_grad=True); y = w * 3; z = (y * y).sum(); y.detach()[0] = 100; z.backward(); out = w.grad",
    "inplace_on_nonleaf_grad": "x = torch.tensor([1.0, 2.0], requires_grad=True); h = x * 2; h += x; h.sum().backward(); out = x.grad",
    "optimizer_step_then_backward": ("net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))\n"
                                     "opt = torch.optim.SGD(net.parameters(), lr=0.1)\n"
                                     "loss = net(torch.ones(3, 2)).sum(); loss.backward(retain_graph=True); opt.step()\n"
                                     "loss.backward(); out = 1"),
    "optimizer_step_then_backward_one_layer": (
        "lin = nn.Linear(2, 1); opt = torch.optim.SGD(lin.parameters(), lr=0.1)\n"
        "loss = lin(torch.ones(3, 2)).sum(); loss.backward(retain_graph=True); opt.step()\n"
        "loss.backward(); out = 1"),
    "normal_uniform_shape": "t = torch.empty(3, 4); t.normal_(); u = torch.empty(5).uniform_(-1, 1); out = (t.shape, bool((u.abs() <= 1).all()))",
    "grad_norm": "w = torch.ones(3, requires_grad=True); (2 * w).sum().backward(); out = w.grad.norm()",
    # autograd and modes
    "no_grad_decorator": "f = torch.no_grad()(lambda x: x * 2); out = f(torch.ones(1, requires_grad=True)).requires_grad",
    "inference_mode": "with torch.inference_mode():\n    out = (torch.ones(1, requires_grad=True) * 2).requires_grad",
    "set_grad_enabled": "with torch.set_grad_enabled(False):\n    out = (torch.ones(1, requires_grad=True) * 2).requires_grad",
    "detach_clone": "x = torch.ones(2, requires_grad=True); out = (x.detach().requires_grad, x.clone().requires_grad)",
    # functional and modules
    "F_namespace": "out = nn.functional is F",
    "F_pad": "out = F.pad(torch.tensor(M), (1, 2))",
    "F_one_hot": "out = F.one_hot(torch.tensor([0, 2, 1]), 4)",
    "F_activations": "t = torch.tensor(M) - 4; out = (F.silu(t), F.leaky_relu(t, 0.1), F.elu(t), F.softplus(t), F.gelu(t), F.relu(t))",
    "F_bce": "p = torch.tensor([0.2, 0.9]); t = torch.tensor([0.0, 1.0]); out = (F.binary_cross_entropy(p, t), F.binary_cross_entropy_with_logits(p, t))",
    "F_kl_div": "p = torch.tensor([[0.2, 0.8]]).log(); q = torch.tensor([[0.5, 0.5]]); out = F.kl_div(p, q, reduction='batchmean')",
    "F_cross_entropy_NCd": "l = torch.tensor(A[:, :3, :]); t = torch.tensor([[0, 1, 2, 0], [2, 2, 1, 0]]); out = F.cross_entropy(l, t)",
    "F_mse": "out = F.mse_loss(torch.ones(3), torch.zeros(3))",
    "F_softmax_dim": "out = F.softmax(torch.tensor(M), dim=0)",
    "modules_misc": ("t = torch.tensor(M) - 4\nout = (nn.Identity()(t), nn.Softmax(dim=-1)(t), nn.SiLU()(t), nn.Tanh()(t),\n"
                     "       nn.MSELoss()(t, t * 0), nn.CrossEntropyLoss()(t, torch.tensor([0, 1, 2])))"),
    "kldiv_module": "out = nn.KLDivLoss(reduction='sum')(torch.tensor([[0.5, 0.5]]).log(), torch.tensor([[0.1, 0.9]]))",
    "sequential_param_count": "m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)); out = sum(p.numel() for p in m.parameters())",
    "linear_weight_shape": "out = nn.Linear(3, 5).weight.shape",
    "embedding_shape": "out = nn.Embedding(10, 4)(torch.tensor([[1, 2, 3]])).shape",
    "mha_seq_first": "m = nn.MultiheadAttention(8, 2); x = torch.zeros(5, 3, 8); out = [o.shape for o in m(x, x, x)]",
    "transformer_shape": "m = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=16); out = m(torch.zeros(5, 2, 8), torch.zeros(4, 2, 8)).shape",
    "state_dict_keys": "out = list(nn.Linear(2, 3).state_dict().keys())",
    "zero_grad_set_to_none": "m = nn.Linear(2, 1); m(torch.ones(1, 2)).sum().backward(); m.zero_grad(); out = m.weight.grad is None",
    "init_normal_": "w = torch.empty(100, 100); torch.nn.init.normal_(w, mean=0.0, std=0.02); out = bool(abs(w.std().item() - 0.02) < 0.002)",
    "clip_grad_norm_": "w = torch.ones(4, requires_grad=True); (3 * w).sum().backward(); n = torch.nn.utils.clip_grad_norm_([w], 1.0); out = (n, w.grad)",
    "adamw_signature": "import inspect; out = 'betas' in inspect.signature(torch.optim.AdamW).parameters",
    "cuda_unavailable": "out = torch.cuda.is_available()",
    # d2l, minGPT and the Annotated Transformer
    "d2l_synthetic_data": ("torch.manual_seed(0); X = torch.normal(0, 1, (5, 2)); w = torch.tensor([2, -3.4])\n"
                           "y = torch.matmul(X, w) + 4.2; y += torch.normal(0, 0.01, y.shape)\n"
                           "out = (X.shape, y.reshape((-1, 1)).shape, y.dtype == torch.float32)"),
    "d2l_params": "w = torch.normal(0, 0.01, size=(2, 1), requires_grad=True); b = torch.zeros(1, requires_grad=True); out = (w.shape, w.requires_grad, b)",
    "d2l_sgd_batch": ("w = torch.tensor([[1.0], [2.0]], requires_grad=True); X = torch.tensor(M[:, :2])\n"
                      "l = ((X @ w - 1) ** 2 / 2).sum(); l.backward()\n"
                      "with torch.no_grad():\n    for p in [w]:\n        p -= 0.1 * p.grad / 3\n        p.grad.zero_()\n"
                      "out = (w, w.grad)"),
    "d2l_cross_entropy_by_range": "y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]); y = torch.tensor([0, 2]); out = -torch.log(y_hat[range(len(y_hat)), y])",
    "d2l_accuracy": ("y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]); y = torch.tensor([0, 2])\n"
                     "cmp = y_hat.argmax(axis=1).type(y.dtype) == y; out = float(cmp.type(y.dtype).sum())"),
    "d2l_softmax_by_hand": "X = torch.tensor(M); X_exp = torch.exp(X); out = X_exp / X_exp.sum(1, keepdim=True)",
    "annotated_subsequent_mask": "m = torch.triu(torch.ones((1, 3, 3)), diagonal=1).type(torch.uint8); out = m == 0",
    "annotated_from_numpy_mask": "m = np.triu(np.ones((1, 3, 3)), k=1).astype('uint8'); out = torch.from_numpy(m) == 0",
    "annotated_positional_encoding": ("import math\npe = torch.zeros(6, 4); position = torch.arange(0, 6).unsqueeze(1)\n"
                                      "div_term = torch.exp(torch.arange(0, 4, 2) * -(math.log(10000.0) / 4))\n"
                                      "pe[:, 0::2] = torch.sin(position * div_term); pe[:, 1::2] = torch.cos(position * div_term)\n"
                                      "out = pe.unsqueeze(0)[:, :3].requires_grad_(False)"),
    "annotated_layernorm": ("x = torch.tensor(A); mean = x.mean(-1, keepdim=True); std = x.std(-1, keepdim=True)\n"
                            "out = torch.ones(4) * (x - mean) / (std + 1e-6) + torch.zeros(4)"),
    "annotated_attention_scores": ("import math\nq = torch.tensor(A); mask = torch.ones(2, 1, 3)\n"
                                   "scores = torch.matmul(q, q.transpose(-2, -1)) / math.sqrt(q.size(-1))\n"
                                   "scores = scores.masked_fill(mask == 0, -1e9); out = scores.softmax(dim=-1)"),
    "annotated_greedy_step": ("prob = torch.tensor([[0.1, 0.7, 0.2]]); _, next_word = torch.max(prob, dim=1)\n"
                              "next_word = next_word.data[0]; src = torch.tensor([[1, 2]])\n"
                              "ys = torch.zeros(1, 1).fill_(0).type_as(src.data)\n"
                              "out = torch.cat([ys, torch.zeros(1, 1).type_as(src.data).fill_(next_word)], dim=1)"),
    "mingpt_topk_clone": ("logits = torch.tensor(M); v, ix = torch.topk(logits, 2); out = logits.clone()\n"
                          "out[out < v[:, [-1]]] = -float('Inf')"),
    "deepcopy_clones": "import copy\nl = nn.Linear(2, 2); m = nn.ModuleList([copy.deepcopy(l) for _ in range(2)]); out = (m[0].weight is not m[1].weight, torch.equal(m[0].weight, m[1].weight))",
    # torch.utils.data
    "tensordataset_dataloader": ("ds = torch.utils.data.TensorDataset(torch.tensor(M), torch.arange(3))\n"
                                 "out = [(x, y) for x, y in torch.utils.data.DataLoader(ds, batch_size=2)]"),
    "dataloader_len_drop_last": ("ds = torch.utils.data.TensorDataset(torch.arange(10))\n"
                                 "out = (len(torch.utils.data.DataLoader(ds, batch_size=3)),\n"
                                 "       len(torch.utils.data.DataLoader(ds, batch_size=3, drop_last=True)))"),
    "custom_dataset_numpy_items": ("class D(torch.utils.data.Dataset):\n"
                                   "    def __len__(self):\n        return 4\n"
                                   "    def __getitem__(self, i):\n        return np.full(2, float(i)), i\n"
                                   "out = next(iter(torch.utils.data.DataLoader(D(), batch_size=3)))"),
    "dataloader_shuffle_covers_all": ("ds = torch.utils.data.TensorDataset(torch.arange(7))\n"
                                      "seen = torch.cat([b[0] for b in torch.utils.data.DataLoader(ds, batch_size=2, shuffle=True)])\n"
                                      "out = sorted(seen.tolist())"),
    "random_split_generator": ("g = torch.Generator().manual_seed(42)\n"
                               "a, b = torch.utils.data.random_split(range(10), [0.8, 0.2], generator=g); out = (len(a), len(b))"),
    "random_split_sizes": "a, b = torch.utils.data.random_split(range(10), [7, 3]); out = (len(a), len(b), sorted(list(a) + list(b)))",
    # python protocols
    "iterate_rows": "out = [row.sum() for row in torch.tensor(M)]",
    "iterate_0d": "out = list(torch.tensor(1.0))",
    "contains": "t = torch.tensor(M); out = (4.0 in t, 42.0 in t)",
    "unary_plus_len": "t = torch.tensor(A); out = (+t, len(t))",
    "tolist": "out = torch.tensor(M).tolist()",
    "numpy_requires_grad_error": "out = torch.ones(2, requires_grad=True).numpy()",
    "detach_numpy": "out = torch.ones(2, requires_grad=True).detach().numpy()",
    "mean_of_ints_error": "out = torch.tensor([1, 2]).mean()",
    "float_then_mean": "out = torch.arange(5).float().mean()",
    "where_three_args": "t = torch.tensor(M); out = torch.where(t > 4, t, torch.zeros_like(t))",
    "where_scalar": "t = torch.tensor(M); out = torch.where(t > 4, t, 0.0)",
    "masked_fill_inf_softmax": "t = torch.tensor(M); out = t.masked_fill(torch.eye(3) == 0, float('-inf')).softmax(-1)",
    "requires_grad_inplace": "t = torch.ones(2); t.requires_grad_(); out = (t.requires_grad, t.is_leaf, t.grad is None)",
    "cross_entropy_item": "out = F.cross_entropy(torch.tensor(M), torch.tensor([0, 1, 2])).item()",
    # modules
    "F_relu_inplace": "x = torch.tensor(M) - 4; y = F.relu(x, inplace=True); out = (x, y is x)",
    "leaky_relu_inplace_module": "x = torch.tensor(M) - 4; m = nn.LeakyReLU(0.2, inplace=True); y = m(x); out = (x, repr(m))",
    "module_reprs": "out = [repr(m) for m in (nn.LeakyReLU(0.2), nn.Linear(2, 3), nn.Dropout(0.1), nn.ReLU(), nn.Tanh(), nn.GELU())]",
    "data_numpy": "out = torch.ones(2).data.numpy()",
    "grad_data_zero_": "w = torch.ones(2, requires_grad=True); w.sum().backward(); w.grad.data.zero_(); out = w.grad",
    "relu_inplace_module": "x = torch.tensor(M) - 4; y = nn.ReLU(inplace=True)(x); out = (x, y is x)",
    "dropout_args": "m = nn.Dropout(p=0.1, inplace=False); m.eval(); out = m(torch.tensor(M))",
    "layer_factory_kwargs": ("out = (nn.Linear(2, 3, dtype=torch.float64).weight.dtype == torch.float64,\n"
                             "       nn.Embedding(3, 2, device='cpu').weight.shape,\n"
                             "       nn.LayerNorm(4, dtype=torch.float64).weight.dtype == torch.float64)"),
    "softmax_dtype": "out = F.softmax(torch.tensor(M), dim=-1, dtype=torch.float64)",
    "train_eval_flags": "m = nn.Sequential(nn.Dropout(0.5)); m.eval(); a = m.training; m.train(); out = (a, m.training, m[0].training)",
    "named_parameters": "m = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)); out = [(n, tuple(p.shape)) for n, p in m.named_parameters()]",
    "register_buffer_state_dict": ("class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                                   "        self.register_buffer('mask', torch.tril(torch.ones(2, 2)))\n"
                                   "        self.w = nn.Parameter(torch.zeros(2))\n"
                                   "out = sorted(M().state_dict().keys())"),
    "modulelist_len_index": "m = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)]); out = (len(m), m[1].weight.shape)",
    "load_state_dict_roundtrip": ("a = nn.Linear(3, 2); b = nn.Linear(3, 2); b.load_state_dict(a.state_dict())\n"
                                  "x = torch.tensor(M); out = torch.equal(a(x), b(x))"),
    "parameter_is_tensor": "p = nn.Parameter(torch.zeros(2)); out = (isinstance(p, torch.Tensor), p.requires_grad)",
    "embedding_padding_idx": "e = nn.Embedding(5, 2, padding_idx=0); out = e(torch.tensor([0])).abs().sum()",
    "layernorm_module": "out = nn.LayerNorm(3)(torch.tensor(M))",
    "gelu_tanh_module": "out = nn.GELU(approximate='tanh')(torch.tensor(M) - 4)",
    "optimizer_param_groups_lr": "m = nn.Linear(2, 2); o = torch.optim.Adam(m.parameters(), lr=0.01); out = [g['lr'] for g in o.param_groups]",
    "lambda_lr": ("m = nn.Linear(2, 2); o = torch.optim.SGD(m.parameters(), lr=1.0)\n"
                  "s = torch.optim.lr_scheduler.LambdaLR(o, lambda step: 0.5 ** step)\n"
                  "o.step(); s.step(); o.step(); s.step(); out = o.param_groups[0]['lr']"),
    "adam_two_steps": ("torch.manual_seed(0); w = nn.Parameter(torch.tensor([1.0, -2.0]))\n"
                       "o = torch.optim.Adam([w], lr=0.1)\n"
                       "for _ in range(2):\n    o.zero_grad(); (w ** 2).sum().backward(); o.step()\n"
                       "out = w.detach()"),
    "cuda_tensor_error": "out = torch.ones(1).to('cuda')",
}

# Idioms where microattn knowingly differs; each must still fail (strict xfail),
# so fixing one shows up. (Kept empty when everything behaves the same.)
KNOWN_DIFFERENCES = {
    "cuda_tensor_error": "PyTorch without CUDA raises AssertionError/RuntimeError depending on the "
                         "build; microattn raises RuntimeError",
}

A = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
M = np.arange(9, dtype=np.float32).reshape(3, 3)


def _plain(value, lib):
    """An answer in comparable form: tensors as (dtype name, array), containers recursed."""
    if isinstance(value, lib.Tensor):
        data = value.detach().numpy()
        name = str(value.dtype).replace("torch.", "")
        return ("tensor", name, np.array(data))
    if isinstance(value, np.ndarray):
        return ("tensor", value.dtype.name, value)
    if isinstance(value, (tuple, list)):  # torch.Size, namedtuples, lists
        return tuple(_plain(v, lib) for v in value)
    if isinstance(value, (np.floating, float)):
        return ("float", float(value))
    return value


def _run(code, lib):
    names = {"torch": lib, "nn": lib.nn,
             "F": lib.nn.functional, "np": np, "A": A.copy(), "M": M.copy()}
    try:
        with warnings.catch_warnings():  # PyTorch's performance hints are not answers
            warnings.simplefilter("ignore")
            exec(code, names)
    except Exception as error:  # the exception is the answer
        return ("raised", type(error).__name__)
    return _plain(names["out"], lib)


def _assert_same(actual, expected, where="out"):
    if isinstance(expected, tuple) and expected and expected[0] == "tensor":
        assert isinstance(actual, tuple) and actual[0] == "tensor", f"{where}: {actual!r}"
        assert actual[1] == expected[1], f"{where}: dtype {actual[1]} != {expected[1]}"
        assert actual[2].shape == expected[2].shape, f"{where}: shape"
        np.testing.assert_allclose(actual[2].astype(float), expected[2].astype(float),
                                   rtol=1e-5, atol=1e-6, err_msg=where)
    elif isinstance(expected, tuple) and expected and expected[0] == "float":
        assert actual[0] == "float" and abs(actual[1] - expected[1]) <= 1e-5 * max(
            1, abs(expected[1])), where
    elif isinstance(expected, tuple) and not (expected and expected[0] == "raised"):
        assert isinstance(actual, tuple) and len(actual) == len(expected), f"{where}: {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_same(a, e, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_idiom_behaves_as_in_pytorch(name):
    if name in KNOWN_DIFFERENCES:
        pytest.xfail(KNOWN_DIFFERENCES[name])
    torch.manual_seed(0)
    expected = _run(IDIOMS[name], torch)
    actual = _run(IDIOMS[name], ma)
    _assert_same(actual, expected)
