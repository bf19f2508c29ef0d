"""Flatten: merge a range of dims into one."""
from .module import Module


class Flatten(Module):
    """Merge dims start_dim..end_dim (1 to -1 by default: keep the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
