"""Hyperparameters declared once: name, default and valid range, checked whenever a value enters.

Each optimizer lists its hyperparameters in one class attribute::

    class Adam(Optimizer):
        hyperparameters = Hyperparameters(
            Number("lr", 1e-3, low=0.0, label="learning rate lr"),
            Pair("betas", (0.9, 0.999), Number("beta1", low=0.0, high=1.0, high_open=True), ...),
            ...
            Flag("maximize", False, keyword_only=True))

From that declaration the optimizer gets its constructor (PyTorch's signature and defaults), its
``defaults`` dict, and the checks. A value is checked when it enters: at construction, by
``add_param_group``, when a parameter group is written (``group["lr"] = 0.1``, ``group.update``)
and when a ``state_dict`` is loaded; ``step()`` re-checks only ``lr`` (cheap), which catches a
group dict replaced behind the optimizer's back. A bad value raises ValueError naming the
hyperparameter, the value and the valid range, e.g.
``Invalid learning rate lr=inf for Adam: expected a finite number >= 0``; no value is ever NaN
or infinite.

``Adam.hyperparameters.validate({"lr": 0.1})`` checks a configuration without building a model
(the command line does this) and returns every value, defaults filled in.
"""

import difflib
import inspect
import math

import numpy as np

__all__ = ["Hyperparameter", "Number", "Integer", "Flag", "Choice", "Pair", "Hyperparameters", "ParamGroup",
           "declarations", "required", "check_number"]


class _Required:
    """Marker for a hyperparameter without a default (it must be given)."""

    def __repr__(self):
        return "<required parameter>"


#: the default of a hyperparameter that must be given (``torch.optim.optimizer.required``)
required = _Required()


def _is_real(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _bound(low, high, low_open, high_open):
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


class Hyperparameter:
    """One hyperparameter: ``name``, ``default`` (``required`` if it must be given) and its check.

    ``label``: how messages call it (default: the name); ``keyword_only``: keyword-only in the
    constructor (after ``*``); ``argument=False``: not a constructor argument, only a group entry
    with a fixed default (AdamW's ``decoupled_weight_decay``); ``optional``: None is a valid value;
    ``derive(values)``: the value to use when None is given (e.g. LBFGS's ``max_eval``).
    Subclasses define :meth:`valid` and :meth:`expected`.
    """

    kind = "any"

    def __init__(self, name, default=required, *, label=None, keyword_only=False, argument=True, optional=False,
                 derive=None, doc=""):
        self.name = name
        self.default = default
        self.label = label or name
        self.keyword_only = keyword_only
        self.argument = argument
        self.optional = optional
        self.derive = derive
        self.doc = doc

    def valid(self, value):
        """Whether ``value`` (not None) is acceptable."""
        return True

    def expected(self):
        """The valid values, in words (ends the error message)."""
        return "any value"

    def check(self, value, owner=None):
        """Return ``value`` if it is valid, else raise ValueError naming it, the value and the range."""
        if value is None and (self.optional or self.derive is not None):
            return value
        if not self.valid(value):
            where = f" for {owner}" if owner else ""
            expected = self.expected() + (" (or None)" if self.optional else "")
            raise ValueError(f"Invalid {self.label}={value!r}{where}: expected {expected}")
        return value

    def with_default(self, default, argument=None):
        """A copy with another default (and, if given, another ``argument`` flag)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.default = default
        if argument is not None:
            new.argument = argument
        return new

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r}, default={self.default!r}, expected {self.expected()!r})"


class Number(Hyperparameter):
    """A finite real number (not bool, not NaN, not ±∞), optionally bounded: ``low``/``high``,
    each included unless ``low_open``/``high_open``."""

    kind = "number"

    def __init__(self, name, default=required, *, low=None, high=None, low_open=False, high_open=False, **kw):
        super().__init__(name, default, **kw)
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open

    def valid(self, value):
        if type(value) is not float:   # floats, the common case (lr at every step), skip the conversion
            if not _is_real(value):
                return False
            try:
                value = float(value)
            except OverflowError:   # an int beyond the float range
                return False
        if not -math.inf < value < math.inf:   # NaN and ±∞
            return False
        if self.low is not None and not (value > self.low if self.low_open else value >= self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def expected(self):
        bound = _bound(self.low, self.high, self.low_open, self.high_open)
        return "a finite number" + (f" {bound}" if bound else "")


class Integer(Number):
    """An integer (``int`` or a NumPy integer, not bool), optionally bounded like :class:`Number`."""

    kind = "integer"

    def valid(self, value):
        return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and super().valid(value)

    def expected(self):
        bound = _bound(self.low, self.high, self.low_open, self.high_open)
        return "an integer" + (f" {bound}" if bound else "")


class Flag(Hyperparameter):
    """True or False."""

    kind = "bool"

    def valid(self, value):
        return isinstance(value, (bool, np.bool_))

    def expected(self):
        return "True or False"


class Choice(Hyperparameter):
    """One of ``choices`` (strings); with ``callable_ok`` also a function (e.g. a line search)."""

    kind = "choice"

    def __init__(self, name, default=required, *, choices=(), callable_ok=False, **kw):
        super().__init__(name, default, **kw)
        self.choices = tuple(choices)
        self.callable_ok = callable_ok

    def valid(self, value):
        return (isinstance(value, str) and value in self.choices) or (self.callable_ok and callable(value))

    def expected(self):
        names = ", ".join(repr(c) for c in self.choices)
        return f"one of {names}" + (" or a function" if self.callable_ok else "")


class Pair(Hyperparameter):
    """A pair (tuple or list of two), each element checked by its own :class:`Number` spec
    (``first``, ``second``), whose names say which element is wrong, e.g. ``betas[1]``."""

    kind = "pair"

    def __init__(self, name, default=required, first=None, second=None, **kw):
        super().__init__(name, default, **kw)
        self.first, self.second = first, second

    def valid(self, value):
        return isinstance(value, (tuple, list)) and len(value) == 2

    def check(self, value, owner=None):
        super().check(value, owner)
        if value is not None:
            self.first.check(value[0], owner)
            self.second.check(value[1], owner)
        return value

    def expected(self):
        return f"a pair ({self.first.label}, {self.second.label}): {self.first.expected()}, {self.second.expected()}"


class Hyperparameters:
    """The declared hyperparameters of one optimizer, in constructor order, and the ``rules``
    that relate several of them (functions of the group dict that raise ValueError, e.g.
    "Nesterov momentum needs momentum > 0"). Iterating gives the :class:`Hyperparameter` specs."""

    def __init__(self, *specs, rules=()):
        self.specs = {s.name: s for s in specs}
        self.rules = tuple(rules)

    def __iter__(self):
        return iter(self.specs.values())

    def __len__(self):
        return len(self.specs)

    def __contains__(self, name):
        return name in self.specs

    def __getitem__(self, name):
        return self.specs[name]

    def get(self, name, default=None):
        """The declaration named ``name``, or ``default`` if there is none (as ``dict.get``)."""
        return self.specs.get(name, default)

    def __repr__(self):
        return "Hyperparameters(" + ", ".join(f"{s.name}={s.default!r}" for s in self) + ")"

    def describe(self):
        """The declarations in words, one line each: ``name`` = default: meaning (valid values)."""
        lines = []
        for s in self:
            default = "required" if s.default is required else repr(s.default)
            fixed = "" if s.argument else ", fixed (not an argument)"
            lines.append(f"- ``{s.name}`` = {default}{fixed}: {s.doc} ({s.expected()}"
                         f"{' or None' if s.optional or s.derive is not None else ''})")
        return "\n".join(lines)

    # ------------------------------------------------------------------ derived declarations
    def replace(self, **defaults):
        """The same declarations with other defaults (``AdamW``: ``weight_decay=1e-2``)."""
        unknown = set(defaults) - set(self.specs)
        if unknown:
            raise KeyError(f"no hyperparameter named {sorted(unknown)}")
        return Hyperparameters(*(s.with_default(defaults[s.name]) if s.name in defaults else s for s in self),
                               rules=self.rules)

    def fix(self, **values):
        """The same declarations with ``values`` fixed: they stay group entries with that value but
        are no longer constructor arguments (``AdamW``: ``decoupled_weight_decay=True``)."""
        return Hyperparameters(*(s.with_default(values[s.name], argument=False) if s.name in values else s
                                 for s in self), rules=self.rules)

    def signature(self):
        """The constructor's signature ``(self, params, <positional>, *, <keyword-only>)``."""
        P = inspect.Parameter
        params = [P("self", P.POSITIONAL_OR_KEYWORD), P("params", P.POSITIONAL_OR_KEYWORD)]
        for s in self:
            if s.argument:
                kind = P.KEYWORD_ONLY if s.keyword_only else P.POSITIONAL_OR_KEYWORD
                params.append(P(s.name, kind, default=P.empty if s.default is required else s.default))
        return inspect.Signature(params)

    # ------------------------------------------------------------------ checks
    def _entering(self, name, value, values, owner):
        """The value to store for ``name``: checked, None replaced by its derived value."""
        spec = self.specs[name]
        spec.check(value, owner)
        if value is None and spec.derive is not None:
            value = spec.derive(values)
            spec.check(value, owner)
        return value

    def check_rules(self, values, owner=None):
        """Run the rules relating several hyperparameters on the dict ``values``."""
        for rule in self.rules:
            rule(values, owner)

    def complete(self, values, owner=None):
        """Every declared value, from ``values`` or the default, checked, derived values filled in and
        the rules run: the optimizer's ``defaults``. A missing ``required`` one stays ``required``."""
        out = dict(values)
        for s in self:
            value = out.get(s.name, s.default)
            out[s.name] = value if value is required else self._entering(s.name, value, out, owner)
        self.check_rules(out, owner)
        return out

    def validate(self, values, owner=None):
        """Check a configuration ``{name: value}`` without building an optimizer; return every value
        (defaults filled in). Unknown names raise TypeError (with the closest declared name), missing
        required ones ValueError, bad values ValueError naming the value and the range."""
        for name in values:
            if name not in self.specs or not self.specs[name].argument:
                names = [s.name for s in self if s.argument]
                close = difflib.get_close_matches(name, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (its hyperparameters: {', '.join(names)})"
                raise TypeError(f"{owner or 'the optimizer'} has no hyperparameter {name!r}{hint}")
        out = self.complete(values, owner)
        missing = [k for k, v in out.items() if v is required]
        if missing:
            raise ValueError(f"{owner or 'the optimizer'}: required hyperparameter {missing[0]!r} was not given")
        return out

    def check_group(self, group, owner=None):
        """Check (and derive) every declared value present in the dict ``group``, then the rules;
        returns the values to store, in a new dict."""
        out = dict(group)
        for name in self.specs:
            if name in out:
                out[name] = self._entering(name, out[name], out, owner)
        self.check_rules(out, owner)
        return out

    def check_update(self, group, new, owner=None):
        """The entries of ``new`` to write into ``group`` (checked as one change; the rules see the
        group as it would be afterwards). Raises ValueError, leaving ``group`` untouched."""
        merged = dict(group)
        merged.update(new)
        out = dict(new)
        for name in new:
            if name in self.specs:
                out[name] = merged[name] = self._entering(name, new[name], merged, owner)
        self.check_rules(merged, owner)
        return out


def check_number(name, value, low=None, high=None, low_open=False, high_open=False, integer=False):
    """Raise ValueError unless ``value`` is a finite real number (not bool) inside the range; return it.

    For arguments that are not declared hyperparameters (schedules, averaging, line searches)."""
    spec = (Integer if integer else Number)(name, low=low, high=high, low_open=low_open, high_open=high_open)
    return spec.check(value)


#: what is checked in the groups of an optimizer that declares nothing (one written in PyTorch's style)
UNDECLARED = Hyperparameters(Number("lr", label="learning rate lr", low=0.0))


def declarations(owner):
    """The hyperparameters checked for optimizer class ``owner``: its declarations, or just ``lr``."""
    return owner.hyperparameters if len(owner.hyperparameters) else UNDECLARED


class ParamGroup(dict):
    """A parameter group ``{"params": [...], hyperparameter: value, ...}``: a dict whose declared
    hyperparameters are checked when they are written (``group["lr"] = x``, ``update``,
    ``setdefault``, ``|=``), so a bad value is refused at the line that writes it and the group
    keeps its old value. ``owner`` is the optimizer class whose ``hyperparameters`` apply."""

    def __init__(self, owner, values=()):
        super().__init__(values)
        self.owner = owner

    def _hyperparameters(self):
        owner = getattr(self, "owner", None)   # absent while a copy is being rebuilt
        return (declarations(owner), owner.__name__) if owner is not None else (None, None)

    def __setitem__(self, key, value):
        spec, name = self._hyperparameters()
        if spec is not None and key in spec:
            value = spec.check_update(self, {key: value}, name)[key]
        super().__setitem__(key, value)

    def update(self, *args, **kwargs):
        new = dict(*args, **kwargs)
        spec, name = self._hyperparameters()
        if spec is not None:
            new = spec.check_update(self, new, name)
        super().update(new)

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def __ior__(self, other):
        self.update(other)
        return self

    def __reduce_ex__(self, protocol):
        return (_rebuild_group, (getattr(self, "owner", None), dict(self)))


def _rebuild_group(owner, values):
    return ParamGroup(owner, values)
