"""``MultiTask``: a shared trunk with one head per task (multi-task learning from the notes)."""

from .containers import ModuleDict
from .module import Module


class MultiTask(Module):
    """outputs[t] = head_t(trunk(x)) for each task t; returns a dict task → output.

    The trunk's representation is computed once and shared; the total loss is usually a
    weighted sum of the per-task losses, Σ_t λ_t l_t(outputs[t], y_t).
    """

    def __init__(self, trunk, heads):
        super().__init__()
        if not isinstance(trunk, Module):
            raise TypeError(f"MultiTask: trunk must be an nn.Module, got {type(trunk).__name__}")
        if not heads:
            raise ValueError("MultiTask: heads must be a non-empty dict of task name -> Module")
        self.trunk = trunk
        self.heads = heads if isinstance(heads, ModuleDict) else ModuleDict(heads)

    def forward(self, x):
        h = self.trunk(x)
        return {name: head(h) for name, head in self.heads.items()}
