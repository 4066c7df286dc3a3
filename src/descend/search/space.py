"""Search spaces: one distribution per config path, e.g. ``{"optimizer.lr": loguniform(1e-4, 1e-1)}``.

A path names a key of the run configuration (``"optimizer.lr"``, ``"model.hidden"``,
``"data.batch_size"``, any key ``descend train`` accepts). Each hyperparameter λ gets a distribution:

- ``grid(values)``: enumerated by grid search (the product of all grid axes); drawn uniformly otherwise.
- ``choice(values)``: drawn uniformly from the values.
- ``uniform(a, b)``: λ ~ U[a, b).
- ``loguniform(a, b)``: log λ ~ U[log a, log b), a > 0: every decade gets the same share of trials.
- ``randint(a, b)``: an integer, uniform on {a, ..., b - 1} (NumPy's and SciPy's convention).

In TOML, under ``[search.space]``, a path maps to a one-key table, e.g.
``"optimizer.lr" = { loguniform = [1e-4, 1e-1] }`` or ``"model.hidden" = { choice = [[64], [256, 128]] }``.
"""

import copy
import difflib
import math
import numbers

from ..train.config import ConfigError, validate

#: config paths the study sets itself for every trial
RESERVED = {"training.seed": "the study derives each trial's seed from search.seed and the trial's index",
            "data.seed": "every trial must share one train/validation/test split"}
#: config tables whose keys are the keyword arguments of a class (checked by ``validate``)
FREE_TABLES = ("optimizer", "schedule")


def _check_value(value, who):
    if isinstance(value, (bool, str)) or (isinstance(value, numbers.Real) and math.isfinite(value)):
        return value.item() if hasattr(value, "item") else value
    if isinstance(value, (list, tuple)):
        return [_check_value(v, who) for v in value]
    raise TypeError(f"{who}: value {value!r} cannot be a config value; expected a number, a string, a boolean or "
                    f"a list of them")


class Distribution:
    """The distribution of one hyperparameter. Subclasses define ``sample(rng)`` (a value drawn with a NumPy
    Generator), ``spec()`` (the TOML form, e.g. ``{"loguniform": [0.0001, 0.1]}``) and ``candidates()`` (the
    values checked against the config before any trial: every value, or the two bounds)."""

    kind = ""
    finite = False
    log = False

    def __repr__(self):
        (kind, args), = self.spec().items()
        return f"{kind}({args!r})" if self.finite else f"{kind}({args[0]!r}, {args[1]!r})"

    def __eq__(self, other):
        return type(self) is type(other) and self.spec() == other.spec()


class _Finite(Distribution):
    finite = True

    def __init__(self, values):
        who = f"search.{self.kind}"
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"{who}(values): expected a list of values, got {values!r}")
        self.values = [_check_value(v, who) for v in values]
        if not self.values:
            raise ValueError(f"{who}([]): expected at least one value")

    def sample(self, rng):
        """One value drawn uniformly from ``values`` (a copy), with the NumPy Generator ``rng``."""
        return copy.deepcopy(self.values[int(rng.integers(len(self.values)))])

    def spec(self):
        return {self.kind: copy.deepcopy(self.values)}

    def candidates(self):
        """The values a grid search enumerates: all of them."""
        return self.values


class grid(_Finite):
    """Grid axis: grid search runs every combination of the grid axes' values; random search draws uniformly."""

    kind = "grid"


class choice(_Finite):
    """Categorical choice: a value drawn uniformly from ``values`` (lists are values too: ``[[64], [256, 128]]``)."""

    kind = "choice"


class _Interval(Distribution):
    def __init__(self, a, b):
        who = f"search.{self.kind}({a!r}, {b!r})"
        for v in (a, b):
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
                raise TypeError(f"{who}: bounds must be finite numbers")
        if a >= b:
            raise ValueError(f"{who}: expected a < b")
        self.a, self.b = self._bounds(a, b, who)

    def _bounds(self, a, b, who):
        return float(a), float(b)

    def spec(self):
        return {self.kind: [self.a, self.b]}

    def candidates(self):
        """The values a grid search tries: the two ends, a and b."""
        return [self.a, self.b]


class uniform(_Interval):
    """λ ~ U[a, b): a float."""

    kind = "uniform"

    def sample(self, rng):
        """λ = a + (b − a) u, u ~ U[0, 1) from the NumPy Generator ``rng`` (always < b)."""
        return min(self.a + (self.b - self.a) * float(rng.random()), math.nextafter(self.b, self.a))


class loguniform(_Interval):
    """log λ ~ U[log a, log b) with 0 < a < b: a float, as likely in [a, 10a) as in [10a, 100a)."""

    kind = "loguniform"
    log = True

    def _bounds(self, a, b, who):
        if a <= 0:
            raise ValueError(f"{who}: bounds must be > 0 (log-uniform)")
        return float(a), float(b)

    def sample(self, rng):
        """λ = exp(log a + (log b − log a) u), u ~ U[0, 1) from the NumPy Generator ``rng`` (always < b)."""
        lo, hi = math.log(self.a), math.log(self.b)
        return min(math.exp(lo + (hi - lo) * float(rng.random())), math.nextafter(self.b, self.a))


class randint(_Interval):
    """An integer uniform on {a, ..., b - 1}."""

    kind = "randint"

    def _bounds(self, a, b, who):
        if int(a) != a or int(b) != b:
            raise TypeError(f"{who}: bounds must be integers")
        return int(a), int(b)

    def sample(self, rng):
        """An integer uniform on {a, ..., b − 1}, from the NumPy Generator ``rng``."""
        return int(rng.integers(self.a, self.b))

    def candidates(self):
        """The values a grid search tries: the two ends, a and b − 1."""
        return [self.a, self.b - 1]


KINDS = {cls.kind: cls for cls in (grid, choice, uniform, loguniform, randint)}


# ---------------------------------------------------------------------------- TOML form
def _leaf(path, table):
    (kind, args), = table.items()
    who = f"search.space {path!r}"
    if kind in ("grid", "choice"):
        if not isinstance(args, list):
            raise ConfigError(f"{who}: {kind} takes a list of values, e.g. {{ {kind} = [0.01, 0.1] }}")
        try:
            return KINDS[kind](args)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{who}: {e}") from None
    if not isinstance(args, list) or len(args) != 2:
        raise ConfigError(f"{who}: {kind} takes two bounds [a, b], e.g. {{ {kind} = [1e-4, 1e-1] }}, got {args!r}")
    try:
        return KINDS[kind](*args)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{who}: {e}") from None


def from_toml(table, prefix=""):
    """The space of a ``[search.space]`` table: ``{path: Distribution}``, in the file's order.

    Quoted paths (``"optimizer.lr" = {...}``) and nested tables (``optimizer.lr = {...}``) both work.
    """
    if not isinstance(table, dict):
        raise ConfigError(f"search.space must be a table of config paths, got {table!r}")
    space = {}
    for key, value in table.items():
        path = prefix + key
        if not isinstance(value, dict):
            raise ConfigError(f"search.space {path!r} = {value!r}: expected a distribution, e.g. "
                              f"{{ choice = [...] }}, {{ grid = [...] }}, {{ uniform = [a, b] }}, "
                              f"{{ loguniform = [a, b] }} or {{ randint = [a, b] }}")
        names = [k for k in value if k in KINDS]
        if len(value) == 1 and names:
            space[path] = _leaf(path, value)
        elif names:
            raise ConfigError(f"search.space {path!r}: give one distribution, got {', '.join(value)}")
        else:
            close = difflib.get_close_matches(next(iter(value), ""), list(KINDS), n=1) if len(value) == 1 else []
            if close:
                raise ConfigError(f"search.space {path!r}: unknown distribution {next(iter(value))!r}; did you mean "
                                  f"{close[0]!r}? (one of {', '.join(KINDS)})")
            space.update(from_toml(value, path + "."))
    return space


def to_toml(space):
    """``{path: {kind: args}}``: the inverse of :func:`from_toml` (stored in the study)."""
    return {path: d.spec() for path, d in space.items()}


def from_spec(spec):
    """The space stored by :func:`to_toml`."""
    return {path: (KINDS[k](v) if k in ("grid", "choice") else KINDS[k](*v)) for path, s in spec.items()
            for k, v in s.items()}


# ---------------------------------------------------------------------------- paths in a config
def leaf_paths(config, prefix=""):
    """Every dotted path of ``config`` that holds a value (not a table)."""
    for k, v in config.items():
        if isinstance(v, dict):
            yield from leaf_paths(v, prefix + k + ".")
        else:
            yield prefix + k


def set_path(config, path, value):
    """``config[a][b]... = value`` for ``path = "a.b..."`` (in place)."""
    *parents, last = path.split(".")
    node = config
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = copy.deepcopy(value)


def get_path(config, path):
    """The value at ``path`` in ``config``."""
    node = config
    for p in path.split("."):
        node = node[p]
    return node


def check(space, config):
    """Check ``space`` against the run ``config`` before any trial: every path exists (did-you-mean otherwise),
    is not set by the study itself, and every value (every candidate of a finite axis, both bounds of an
    interval) gives a valid config. Raises ConfigError naming the path."""
    if not isinstance(space, dict):
        raise TypeError(f"search space: expected a dict {{config path: distribution}}, got {type(space).__name__}")
    if not space:
        raise ConfigError("search.space is empty: give at least one config path and its distribution, e.g. "
                          "\"optimizer.lr\" = { loguniform = [1e-4, 1e-1] }")
    paths = list(leaf_paths(config))
    for path, dist in space.items():
        if not isinstance(path, str):
            raise TypeError(f"search space: keys are config paths like 'optimizer.lr', got {path!r}")
        if not isinstance(dist, Distribution):
            raise TypeError(f"search space {path!r}: expected search.grid/choice/uniform/loguniform/randint, got "
                            f"{dist!r}")
        if path in RESERVED:
            raise ConfigError(f"search.space {path!r}: set by the study ({RESERVED[path]}); search.seed changes it")
        if path not in paths and path.split(".")[0] not in FREE_TABLES:
            tables = {p.rsplit(".", 1)[0] for p in paths if "." in p}
            if path in tables or path in config:
                raise ConfigError(f"search.space {path!r} is a table; name a key inside it, e.g. "
                                  f"{next(p for p in paths if p.startswith(path + '.'))!r}")
            close = difflib.get_close_matches(path, paths, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"search.space: unknown config path {path!r}{hint}")
        for value in dist.candidates():
            trial = copy.deepcopy(config)
            set_path(trial, path, value)
            try:
                validate(trial)
            except ConfigError as e:
                raise ConfigError(f"search.space {path!r} = {dist!r}: {e}") from None
