"""Run configuration: a TOML file validated against the default (``descend.configs.DEFAULT_TOML``).

``load_config(path, overrides)`` merges the user's file and ``--set key=value`` overrides into the
defaults and validates the result before anything runs: an unknown key names its dotted path and
suggests the closest valid key; a wrong type or range names the key and what was expected. The
``[optimizer]`` and ``[schedule]`` tables take, besides ``name``, the keyword arguments of the chosen
class, checked against its signature.
"""

import copy
import difflib
import inspect

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..configs import DEFAULT_TOML

CHOICES = {
    "model.activation": ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu"),
    "model.init": ("default", "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"),
    "schedule.interval": ("epoch", "batch"),
    "data.name": ("digits", "mnist", "fashion_mnist", "two_moons", "spirals", "circles", "xor"),
    "data.mode": ("batch", "stochastic", "online", "minibatch"),
    "training.early_stopping.mode": ("min", "max"),
}
RANGES = {  # key: (low, high, inclusive-low)
    "model.dropout": (0.0, 1.0, True), "data.val": (0.0, 1.0, True), "data.test": (0.0, 1.0, True),
    "data.batch_size": (1, None, True), "data.seed": (-1, None, True), "data.augment.shift": (0, None, True), "data.augment.rotate": (0.0, 180.0, True),
    "data.augment.noise": (0.0, None, True), "training.epochs": (0, None, True), "training.seed": (0, None, True),
    "training.checkpoint_every": (1, None, True), "training.monitor_every": (0, None, True),
    "training.early_stopping.patience": (0, None, True), "training.early_stopping.min_delta": (0.0, None, True),
    "optimizer.lr": (0.0, None, False),
}
FREE_TABLES = ("optimizer", "schedule")  # hold keyword arguments of the chosen class


class ConfigError(ValueError):
    """A configuration that is not valid (unknown key, wrong type, value out of range)."""


def default_config():
    """The default configuration as a nested dict."""
    return tomllib.loads(DEFAULT_TOML)


def parse_value(text):
    """A ``--set`` value: TOML syntax (numbers, true/false, [lists], "strings"), else the bare text as a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(config, assignment):
    """Apply ``key.path=value`` to ``config`` in place."""
    if "=" not in assignment:
        raise ConfigError(f"--set {assignment!r}: expected key=value, e.g. optimizer.lr=0.01")
    key, text = assignment.split("=", 1)
    parts = key.strip().split(".")
    node = config
    for i, p in enumerate(parts[:-1]):
        if not isinstance(node.get(p, {}), dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} is a value, not a table")
        node = node.setdefault(p, {})
    node[parts[-1]] = parse_value(text.strip())


def _merge(base, user, path=""):
    for k, v in user.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v, f"{path}{k}.")
        else:
            base[k] = v


def _all_keys(d, prefix=""):
    for k, v in d.items():
        yield prefix + k
        if isinstance(v, dict):
            yield from _all_keys(v, prefix + k + ".")


def _unknown(path, valid, all_paths):
    name = path.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    if not close:
        close = [p for p in difflib.get_close_matches(path, all_paths, n=1, cutoff=0.6)]
        hint = f"; did you mean {close[0]!r}?" if close else ""
    else:
        parent = path.rsplit(".", 1)[0] + "." if "." in path else ""
        hint = f"; did you mean {parent + close[0]!r}?"
    return ConfigError(f"unknown config key {path!r}{hint} (valid keys here: {', '.join(sorted(valid))})")


def _type_name(v):
    return {bool: "a boolean (true/false)", int: "an integer", float: "a number", str: "a string",
            list: "a list"}.get(type(v), type(v).__name__)


def _check_value(path, value, default):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok = isinstance(value, str)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in value)
        if not ok:
            raise ConfigError(f"config key {path!r} = {value!r}: expected a list of positive integers")
    else:
        ok = True
    if not ok:
        raise ConfigError(f"config key {path!r} = {value!r}: expected {_type_name(default)}, got {_type_name(value)}")
    if path in CHOICES and value not in CHOICES[path]:
        close = difflib.get_close_matches(str(value), CHOICES[path], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"config key {path!r} = {value!r}: expected one of {', '.join(CHOICES[path])}{hint}")
    if path in RANGES:
        lo, hi, inclusive = RANGES[path]
        bad = (value < lo if inclusive else value <= lo) or (hi is not None and value > hi)
        if bad:
            rng = f"{'>=' if inclusive else '>'} {lo}" + (f" and <= {hi}" if hi is not None else "")
            raise ConfigError(f"config key {path!r} = {value!r}: expected a value {rng}")


def _validate(config, default, path, all_paths):
    for k, v in config.items():
        p = f"{path}{k}"
        if path.rstrip(".") in FREE_TABLES:
            if k in default:
                _check_value(p, v, default[k])
            continue
        if k not in default:
            raise _unknown(p, list(default), all_paths)
        if isinstance(default[k], dict):
            if not isinstance(v, dict):
                raise ConfigError(f"config key {p!r} must be a table ([{p}]), got {_type_name(v)}")
            _validate(v, default[k], p + ".", all_paths)
        else:
            _check_value(p, v, default[k])


def _check_kwargs(table, cls, who):
    params = inspect.signature(cls).parameters
    names = [n for n, q in params.items() if n not in ("self", "params", "optimizer") and
             q.kind in (q.POSITIONAL_OR_KEYWORD, q.KEYWORD_ONLY)]
    for k, v in table.items():
        if k in ("name", "interval", "monitor"):
            continue
        if k not in names:
            close = difflib.get_close_matches(k, names, n=1)
            hint = f"; did you mean '{who}.{close[0]}'?" if close else ""
            raise ConfigError(f"unknown config key '{who}.{k}' for {cls.__name__}{hint} (its arguments: "
                              f"{', '.join(names)})")
        default = params[k].default
        if isinstance(default, (int, float)) and not isinstance(default, bool) and \
                (not isinstance(v, (int, float)) or isinstance(v, bool)):
            raise ConfigError(f"config key '{who}.{k}' = {v!r}: expected a number")


def resolve_classes(config):
    """Check that the optimizer and scheduler exist and take the given keyword arguments; return the classes."""
    from .. import optim
    name = config["optimizer"]["name"]
    names = [n for n in dir(optim) if isinstance(getattr(optim, n), type) and n[0].isupper()]
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        raise ConfigError(f"config key 'optimizer.name' = {name!r}: no such optimizer" +
                          (f"; did you mean {close[0]!r}?" if close else f" (available: {', '.join(sorted(names))})"))
    opt_cls = getattr(optim, name)
    _check_kwargs(config["optimizer"], opt_cls, "optimizer")
    sched = config["schedule"]["name"]
    sched_cls = None
    if sched != "none":
        from ..optim import lr_scheduler
        names = [n for n in dir(lr_scheduler) if isinstance(getattr(lr_scheduler, n), type) and n[0].isupper()]
        if sched not in names:
            close = difflib.get_close_matches(sched, names, n=1)
            raise ConfigError(f"config key 'schedule.name' = {sched!r}: no such scheduler" +
                              (f"; did you mean {close[0]!r}?" if close else f" (available: {', '.join(sorted(names))})"))
        sched_cls = getattr(lr_scheduler, sched)
        _check_kwargs(config["schedule"], sched_cls, "schedule")
    return opt_cls, sched_cls


def validate(config):
    """Raise ConfigError for unknown keys, wrong types or ranges (also optimizer/scheduler arguments)."""
    default = default_config()
    _validate(config, default, "", list(_all_keys(default)))
    d = config["data"]
    if d["val"] + d["test"] >= 1:
        raise ConfigError(f"config keys 'data.val' + 'data.test' = {d['val'] + d['test']}: expected < 1")
    resolve_classes(config)
    return config


def load_config(path=None, overrides=()):
    """The validated configuration: defaults, updated by the TOML file at ``path`` and then by ``overrides``."""
    config = default_config()
    if path is not None:
        try:
            with open(path, "rb") as f:
                user = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path}: not valid TOML ({e})") from None
        default = default_config()
        _validate(user, default, "", list(_all_keys(default)))
        _merge(config, user)
    for a in overrides:
        apply_override(config, a)
    return validate(config)


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float):
        return repr(v) if v == v and v not in (float("inf"), float("-inf")) else ("nan" if v != v else
                                                                                   ("inf" if v > 0 else "-inf"))
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return str(v)


def dumps(config, prefix=""):
    """The configuration as TOML text (tables of scalars and lists)."""
    lines, tables = [], []
    for k, v in config.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{k} = {_toml_value(v)}")
    out = "\n".join(lines)
    for k, v in tables:
        name = prefix + k
        out += ("\n\n" if out else "") + f"[{name}]\n" + dumps(v, name + ".").strip("\n")
    return out.strip() + "\n"


def copy_config(config):
    """A deep copy of ``config``."""
    return copy.deepcopy(config)
