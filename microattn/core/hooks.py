"""Where a layer above plugs into the core (microattn.compat does, for PyTorch's rules).

Each hook is None until someone installs a function; the core calls it only
then, and only when it matters (promote: on mixed dtypes; on_backward: when
in-place writes happened since a node saved its arrays).
"""
promote = None         # promote(raw, positions, floating): give mixed dtypes one (apply)
on_backward = None     # on_backward(node): check what it saved before its backward runs
on_write = None        # on_write(array, op): count an in-place write into array's memory
check_device = None    # check_device(where, op): the device= argument of constructors
numpy_spelling = None  # numpy_spelling(fn, x, args, options): np.sum(t)'s axis=, dtype=
writes = 0             # in-place writes so far (on_write counts them); nodes note it on saving


def wrote(array, op):
    """Tell the core that ``op`` wrote into ``array``'s memory in place."""
    if on_write is not None:
        on_write(array, op)
