"""The ``Optimizer`` base: parameter groups, per-parameter state, ``state_dict``, the step path.

An optimizer moves parameters θ (leaf float Tensors) using their gradients g = ∂L/∂θ. It holds

- ``param_groups``: a list of groups, each a dict with ``"params"`` (a list of Tensors) and the
  group's hyperparameters (``lr``, ``momentum``, ...; missing ones are filled from ``defaults``);
- ``state``: a dict keyed by the parameter Tensor, each value a dict of that parameter's state
  (``"step"`` a Python int, the buffers NumPy arrays of the parameter's shape and dtype);
- ``defaults``: the constructor's hyperparameters.

It is the protocol of ``torch.optim.Optimizer``: ``opt.zero_grad(); loss.backward(); opt.step()``,
or ``opt.step(closure)`` where ``closure()`` re-evaluates the loss and its gradient.
``state_dict()`` refers to parameters by their position (0, 1, ... over all groups in order), so a
fresh optimizer on a fresh model resumes bit-identically after ``load_state_dict``.

A subclass declares its hyperparameters once (:mod:`~descend.optim.hyperparameters`), which gives
it its constructor, ``defaults`` and validation, and writes its math as a pure in-place NumPy update
called from ``_update_param(group, p, g)`` (or ``_update_group``). The step path is here, once:
:meth:`Optimizer.step` checks ``lr``, runs the closure (checked: a scalar loss, a new gradient),
and calls the updates inside ``extend.inplace(*params)``, so every updated parameter's version moves
by one and a graph that saved its old value raises on backward. An optimizer written in
PyTorch's style, overriding ``step`` itself, gets the same ``lr`` check, version bumps and step
count from the wrapper :meth:`Optimizer.__init_subclass__` puts around its ``step``.
"""

import difflib
import functools
from collections import defaultdict

import numpy as np

from ..autodiff.extend import host_op, inplace
from ..autodiff.tensor import Tensor
from .closure import evaluate_closure
from .hyperparameters import Hyperparameters, ParamGroup, declarations, required

__all__ = ["Optimizer", "required", "own_step_path"]


def own_step_path(step):
    """Mark a subclass's ``step`` that checks ``lr``, counts steps and writes the parameters inside
    ``extend.inplace`` blocks itself (the second-order methods), so the base does not wrap it."""
    step.own_step_path = True
    return step


def _wrapped_step(step):
    """Around a ``step`` written in PyTorch's style: the lr check, ``inplace`` over every parameter
    (their versions move once the step is done), and the step count."""

    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        self._check_lr()
        with inplace(*self._all_params()):
            out = step(self, *args, **kwargs)
        self._step_count += 1
        return out

    wrapper.own_step_path = True
    return wrapper


def _constructor(cls):
    """The ``__init__`` of an optimizer that declares ``hyperparameters``: PyTorch's signature,
    built from the declarations, calling :meth:`Optimizer.__init__` with every value."""
    signature = cls.hyperparameters.signature()

    def __init__(self, params, *args, **kwargs):
        try:
            bound = signature.bind(self, params, *args, **kwargs)
        except TypeError as e:
            unknown = [k for k in kwargs if k not in signature.parameters]
            close = difflib.get_close_matches(unknown[0], list(signature.parameters)[2:], n=1) if unknown else []
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"{cls.__name__}(): {e}{hint}") from None
        values = {k: v for k, v in bound.arguments.items() if k not in ("self", "params")}
        Optimizer.__init__(self, params, values)

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__doc__ = f"{cls.__name__}{signature.replace(parameters=list(signature.parameters.values())[1:])}"
    return __init__


class Optimizer:
    """Base class of every optimizer (see the module docstring).

    ``params``: an iterable of Tensors, or of dicts (parameter groups) each with a ``"params"``
    entry and optional per-group hyperparameters. ``defaults``: dict of hyperparameters used
    when a group does not set them.
    """

    #: the declared hyperparameters (:class:`~descend.optim.hyperparameters.Hyperparameters`)
    hyperparameters = Hyperparameters()

    #: True for methods whose ``step`` must be given a closure (the training loop asks this, never a name)
    needs_closure = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "hyperparameters" in cls.__dict__ and "__init__" not in cls.__dict__:
            cls.__init__ = _constructor(cls)
            cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\n    Hyperparameters (``" + cls.__name__ + \
                ".hyperparameters``):\n\n    " + cls.hyperparameters.describe().replace("\n", "\n    ") + "\n"
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "own_step_path", False):
            step = cls.step = _wrapped_step(step)
        if step is not None and not getattr(step, "host_op", False):
            cls.step = host_op(step)  # dc.compile calls it again at each replay (see autodiff.compile)
        zero = cls.__dict__.get("zero_grad")
        if zero is not None and not getattr(zero, "host_op", False):
            cls.zero_grad = host_op(zero)

    def __init__(self, params, defaults):
        name = type(self).__name__
        declared = type(self).hyperparameters
        self.defaults = declared.complete(defaults, name) if len(declared) else dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        self._step_count = 0
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got a Tensor of shape {params.shape}")
        if isinstance(params, dict):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got a dict (wrap a parameter group in a list: [group])")
        is_iterator = iter(params) is params
        param_groups = list(params)
        if len(param_groups) == 0:
            hint = (" (a generator or iterator was given and it yielded nothing: was it already consumed, "
                    "e.g. by an earlier optimizer? pass list(model.parameters()))") if is_iterator else ""
            raise ValueError(f"optimizer got an empty parameter list{hint}")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group):
        """Add a dict ``{"params": ..., hyperparameters...}``; missing hyperparameters come from
        ``defaults``. Raises ValueError for a parameter that is already optimized, a non-leaf or
        non-floating tensor, a missing required hyperparameter, or one out of range."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group.get("params")
        if params is None:
            raise ValueError("param_group has no 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs; use a list instead")
        else:
            params = list(params)
        if len(params) == 0:
            raise ValueError("a parameter group got an empty parameter list")
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (parameter {i}, shape {p.shape}): "
                                 "use a leaf such as x.detach().requires_grad_() instead")
            if p.dtype.kind != "f":
                raise ValueError(f"can't optimize a tensor of dtype {p.dtype} (parameter {i}, shape {p.shape}): "
                                 "expected a floating tensor")
            if id(p) in seen:
                raise ValueError(f"parameter {i} (shape {p.shape}) appears twice in the same parameter group")
            seen.add(id(p))
        for g in self.param_groups:
            for q in g["params"]:
                if id(q) in seen:
                    raise ValueError(f"some parameters appear in more than one parameter group "
                                     f"(one has shape {q.shape})")
        group = {k: v for k, v in param_group.items() if k != "params"}
        group["params"] = params
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {k}")
            group.setdefault(k, v)
        group = self._new_group(group)
        self.param_groups.append(group)
        self._init_group_state(group)

    def _new_group(self, values):
        """A :class:`~descend.optim.hyperparameters.ParamGroup` of ``values``, checked."""
        owner = type(self)
        return ParamGroup(owner, declarations(owner).check_group(values, owner.__name__))

    def _init_group_state(self, group):
        """Create state eagerly for a new group (only Adagrad does, as in PyTorch)."""

    def _all_params(self):
        return [p for group in self.param_groups for p in group["params"]]

    def _check_lr(self):
        """The one check ``step`` repeats: each group's ``lr`` is a finite number in its range."""
        spec = declarations(type(self)).get("lr")
        if spec is None:
            return
        for group in self.param_groups:
            if "lr" in group:
                spec.check(group["lr"], type(self).__name__)

    # ------------------------------------------------------------------ the step
    @host_op
    def zero_grad(self, set_to_none=True):
        """Reset the gradients: ``p.grad = None`` (default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        with inplace(p.grad) as (g,):
                            g[...] = 0

    @host_op
    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns the closure's loss (or None).

        ``closure`` (optional) re-evaluates the loss and calls ``backward()``; it is run with
        gradients recorded and must return a one-element Tensor and leave a new gradient."""
        self._check_lr()
        loss = None if closure is None else evaluate_closure(closure, self._all_params(),
                                                             f"{type(self).__name__}.step(closure): the closure")
        work = [(group, self._grads(group)) for group in self.param_groups]
        with inplace(*[p for _, grads in work for p, _ in grads]):
            for group, grads in work:
                self._update_group(group, grads, loss)
        self._step_count += 1
        return loss

    def _update_group(self, group, grads, loss):
        """Update the parameters of ``group``: ``grads`` lists (parameter, gradient array) for those
        with a gradient, ``loss`` is the closure's loss or None (Rprop's irprop+ uses it).

        Tensors are updated one after the other (sharing runs of small tensors among threads was
        measured slower: the per-tensor Python work holds the GIL); large tensors are split among
        threads by :func:`~descend.optim.parallel.across_threads`."""
        for p, g in grads:
            self._update_param(group, p, g)

    def _update_param(self, group, p, g):
        raise TypeError(f"{type(self).__name__} must define _update_param(group, p, g), _update_group(group, grads, "
                        "loss) or step()")

    @staticmethod
    def _grads(group):
        """(param, grad array) for the parameters of ``group`` that have a gradient."""
        out = []
        for p in group["params"]:
            if p.grad is not None:
                g = p.grad.data
                if g.shape != p.data.shape:
                    raise ValueError(f"gradient of shape {g.shape} for a parameter of shape {p.data.shape}")
                if g.dtype != p.data.dtype:
                    raise TypeError(f"gradient of dtype {g.dtype} for a parameter of dtype {p.data.dtype}")
                out.append((p, g))
        return out

    # ------------------------------------------------------------------ state_dict
    def state_dict(self):
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are numbered by position over all groups; array state is copied, so the dict is
        a snapshot that later steps do not change."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: self._copy_state_value(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    @staticmethod
    def _copy_state_value(v):
        if isinstance(v, np.ndarray):
            return v.copy()
        if isinstance(v, list):   # L-BFGS's history of arrays
            return [a.copy() if isinstance(a, np.ndarray) else a for a in v]
        if isinstance(v, dict):
            return dict(v)
        return v

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by :meth:`state_dict` (group count and sizes
        must match). Everything is checked before anything changes: a bad value raises and leaves
        the optimizer as it was. Floating array state is copied and cast to its parameter's dtype."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter groups; this optimizer has "
                             f"{len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict has a group {i} of {len(saved['params'])} parameters; this "
                                 f"optimizer's group {i} has {len(group['params'])}")
        id_map = {}
        for saved, group in zip(groups, self.param_groups):
            for idx, p in zip(saved["params"], group["params"]):
                id_map[idx] = p
        new_state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            key = int(key)
            if key not in id_map:
                raise ValueError(f"loaded state dict has state for parameter {key}, which no group lists")
            p = id_map[key]
            entry = {}
            for k, v in values.items():
                if isinstance(v, Tensor):
                    v = v.data
                if isinstance(v, np.ndarray):
                    if v.shape == p.shape and v.dtype.kind == "f":
                        v = v.astype(p.dtype, copy=True)
                    else:
                        v = v.copy()
                entry[k] = self._copy_state_value(v)
            new_state[p] = entry
        new_groups = []
        for saved, group in zip(groups, self.param_groups):
            g = {k: v for k, v in saved.items() if k != "params"}
            g["params"] = group["params"]
            for k, v in group.items():
                g.setdefault(k, v)
            new_groups.append(self._new_group(g))
        self.state = new_state
        self.param_groups = new_groups

    # ------------------------------------------------------------------ repr
    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            size = sum(p.data.size for p in group["params"])
            lines.append(f"    params: {len(group['params'])} tensors, {size} values")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._step_count = 0
