"""Run configuration: TOML text, merged over the defaults, checked key by key, then resolved once.

``load_config(path, overrides)`` merges the user's file and ``--set key=value`` overrides into
:data:`DEFAULT_TOML` and calls :func:`validate`, which checks every key (an unknown key names its
dotted path and suggests the closest valid one; a wrong type, choice or range names the key, the
value and what was expected; every number must be finite) and then resolves the whole configuration
into typed objects (:func:`descend.train.spec.resolve`), building the optimizer, scheduler and
callbacks once on a stand-in parameter so that every value they check is checked before anything
is created. The ``[optimizer]`` and ``[schedule]`` tables take, besides ``name``, the keyword
arguments of the chosen class.
"""

import copy
import difflib
import json
import math
import os

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..data.loader import MODES
from .registry import ACTIVATIONS, DATASETS, INITS, MODELS, OPTIMIZERS, SCHEDULERS, TASKS


class ConfigError(ValueError):
    """A configuration that is not valid (unknown key, wrong type, value out of range, inconsistent keys)."""


DEFAULT_TOML = f"""\
# descend's default run: an MLP on the embedded digits data (8x8 images, 10 classes).
# Every key below may be changed in a config file or with `descend train --set section.key=value`.

[model]
type = "mlp"              # {" | ".join(MODELS)} (cnn: conv blocks for image data, then the MLP head below)
hidden = [256]            # sizes of the hidden layers ([] = a linear model; for a cnn, of its head)
activation = "relu"       # {" | ".join(ACTIVATIONS)}
dropout = 0.3             # dropout probability after each hidden activation, in [0, 1)
batchnorm = false         # BatchNorm1d after each hidden linear layer
init = "default"          # default (Glorot uniform weights, zero biases) | {" | ".join(INITS)}
channels = [64, 128]      # cnn: output channels of each conv -> BatchNorm2d -> activation -> 2x2 max-pool block
kernel_size = 3           # cnn: the convolutions' (odd) kernel size, padded to keep the image size

[optimizer]
name = "Adam"             # {" | ".join(OPTIMIZERS)}; other keys are its arguments
lr = 0.001

[schedule]
name = "none"             # none | {" | ".join(SCHEDULERS)}; other keys are its arguments
interval = "epoch"        # step it per "epoch" or per "batch" (ReduceLROnPlateau: per epoch, on a metric)
monitor = "val_loss"      # the metric given to ReduceLROnPlateau

[data]
name = "digits"           # {" | ".join(DATASETS)} (csv, npz: your own file, data.path)
path = ""                 # csv/npz: the file; mnist: directory of its files ("" = the cache, downloaded there)
task = "classification"   # {" | ".join(TASKS)} (regression: csv/npz only; MSE loss, no accuracy)
label = ""                # csv: the label column's name in the header line ("" = the last column)
x = "x"                   # npz: the inputs' array
y = "y"                   # npz: the labels' (targets') array
image_shape = []          # csv/npz: [H, W] or [C, H, W] if each row is an image (a cnn needs it; [] = not images)
val = 0.1                 # fraction held out for validation
test = 0.2                # fraction held out for testing (MNIST has its own test set; XOR uses its 4 points)
stratify = true           # keep the class proportions in every split
batch_size = 32
mode = "minibatch"        # {" | ".join(MODES)}
fixed_batches = false     # draw the batches once and reuse them every epoch
drop_last = false         # drop each epoch's last incomplete mini-batch
standardize = true        # (x - mean) / std with statistics of the training set only
seed = -1                 # seeds the split and the toy data (-1 = training.seed; a search fixes it for all trials)

[data.augment]            # random changes to each training batch
shift = 0                 # shift images by up to this many pixels
flip = false              # flip images horizontally
rotate = "auto"           # rotate images by up to this many degrees ("auto": 8 for images, 0 otherwise)
noise = "auto"            # add Gaussian noise of this standard deviation ("auto": 0.3 for images, 0 otherwise)

[training]
epochs = 60
seed = 0                  # seeds descend, NumPy, the loader and (unless data.seed) the split (0 <= seed < 2**32)
checkpoint_every = 1      # save the full training state every this many epochs
monitor_every = 0         # layer statistics every this many steps (0 = once per epoch)
sanity_check = false      # run the babysitting checks before training
threads = 1               # BLAS threads while training (0 = the library's default, all cores)
compile = "auto"          # replay the training step with dc.compile ("auto": eager, silently, where it cannot;
                          # true: eager with a warning where it cannot; false: never)

[training.early_stopping]
enabled = true
monitor = "val_loss"
mode = "min"              # min | max: never guessed from the name
patience = 10
min_delta = 0.0
restore_best_weights = true
notes_patience = false    # the notes' rule: patience = max(patience, 2 * best epoch)

[output]
dir = "runs"              # runs go to <dir>/<name>
name = ""                 # "" = a timestamp; otherwise one directory name inside output.dir
plots = true              # PNG plots (needs matplotlib)
progress = true           # progress bar (needs tqdm)
tensorboard = false       # TensorBoard event files in <run>/tensorboard (needs tensorboardX)
csv = false               # one row per epoch in <run>/metrics.csv
trajectory_max_parameters = 250000  # per-epoch weights in <run>/trajectory (descend analyze) up to this size; 0 = off
"""

CHOICES = {
    "model.type": tuple(MODELS),
    "model.activation": tuple(ACTIVATIONS),
    "model.init": ("default",) + tuple(INITS),
    "optimizer.name": tuple(OPTIMIZERS),
    "schedule.name": ("none",) + tuple(SCHEDULERS),
    "schedule.interval": ("epoch", "batch"),
    "data.name": tuple(DATASETS),
    "data.task": TASKS,
    "data.mode": MODES,
    "training.early_stopping.mode": ("min", "max"),
}
RANGES = {  # key: (low, high, low included, high included); None = unbounded
    "model.dropout": (0.0, 1.0, True, False), "model.kernel_size": (1, None, True, True),
    "data.val": (0.0, 1.0, True, False), "data.test": (0.0, 1.0, True, False),
    "data.batch_size": (1, None, True, True), "data.seed": (-1, 2**32, True, False),
    "data.augment.shift": (0, None, True, True),
    "data.augment.rotate": (0.0, 180.0, True, True), "data.augment.noise": (0.0, None, True, True),
    "training.epochs": (0, None, True, True), "training.seed": (0, 2**32, True, False),
    "training.checkpoint_every": (1, None, True, True), "training.monitor_every": (0, None, True, True),
    "training.threads": (0, None, True, True),
    "training.early_stopping.patience": (0, None, True, True),
    "output.trajectory_max_parameters": (0, None, True, True),
    "training.early_stopping.min_delta": (0.0, None, True, True),
}
AUTO = ("data.augment.rotate", "data.augment.noise")   # a number, or "auto" (the data set's default)
FLAG_OR_AUTO = ("training.compile",)                    # true, false or "auto"
FREE_TABLES = ("optimizer", "schedule")                # hold keyword arguments of the chosen class
OWN_KEYS = {"optimizer": ("name",), "schedule": ("name", "interval", "monitor")}


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
    if not all(parts):
        raise ConfigError(f"--set {assignment!r}: {key.strip()!r} is not a dotted key such as optimizer.lr")
    node = config
    for i, p in enumerate(parts[:-1]):
        if not isinstance(node.get(p, {}), dict):
            raise ConfigError(f"--set {key}: {'.'.join(parts[:i + 1])} is a value, not a table")
        node = node.setdefault(p, {})
    if isinstance(node.get(parts[-1]), dict):
        raise ConfigError(f"--set {key}: {key.strip()} is a table; set one of its keys ({key.strip()}.<key>=...)")
    node[parts[-1]] = parse_value(text.strip())


def _merge(base, user):
    for k, v in user.items():
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _merge(base[k], v)
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
        close = difflib.get_close_matches(path, all_paths, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
    else:
        parent = path.rsplit(".", 1)[0] + "." if "." in path else ""
        hint = f"; did you mean {parent + close[0]!r}?"
    return ConfigError(f"unknown config key {path!r}{hint} (valid keys here: {', '.join(sorted(valid))})")


def _type_name(v):
    return {bool: "a boolean (true/false)", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _non_finite(value):
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, list) and any(_non_finite(v) for v in value)


def check_finite(path, value):
    """Raise ConfigError if ``value`` is or holds a NaN or infinite number (TOML allows nan and inf)."""
    if _non_finite(value):
        raise ConfigError(f"config key {path!r} = {value!r}: expected a finite number")


def _check_type(path, value, default):
    if path in AUTO and value == "auto":
        return
    if path in FLAG_OR_AUTO:
        if not (isinstance(value, bool) or value == "auto"):
            raise ConfigError(f'config key {path!r} = {value!r}: expected true, false or "auto"')
        return
    if path in AUTO or isinstance(default, float):
        ok = _is_number(value)
        expected = "a number" + (' or "auto"' if path in AUTO else "")
    elif isinstance(default, bool):
        ok, expected = isinstance(value, bool), _type_name(default)
    elif isinstance(default, int):
        ok, expected = isinstance(value, int) and not isinstance(value, bool), _type_name(default)
    elif isinstance(default, str):
        ok, expected = isinstance(value, str), _type_name(default)
    elif isinstance(default, list):
        if not (isinstance(value, list) and all(isinstance(x, int) and not isinstance(x, bool) and x > 0
                                                for x in value)):
            raise ConfigError(f"config key {path!r} = {value!r}: expected a list of positive integers")
        return
    else:
        ok, expected = True, ""
    if not ok:
        raise ConfigError(f"config key {path!r} = {value!r}: expected {expected}, got {_type_name(value)}")


def _check_value(path, value, default):
    _check_type(path, value, default)
    check_finite(path, value)
    if path in CHOICES and value not in CHOICES[path]:
        close = difflib.get_close_matches(str(value), CHOICES[path], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"config key {path!r} = {value!r}: expected one of {', '.join(CHOICES[path])}{hint}")
    if path in RANGES and value != "auto":
        lo, hi, lo_in, hi_in = RANGES[path]
        low_bad = value < lo if lo_in else value <= lo
        high_bad = hi is not None and (value > hi if hi_in else value >= hi)
        if low_bad or high_bad:
            rng = f"{'>=' if lo_in else '>'} {lo}" + (f" and {'<=' if hi_in else '<'} {hi}" if hi is not None else "")
            raise ConfigError(f"config key {path!r} = {value!r}: expected a value {rng}")
    if path == "output.name":
        check_run_name(value)


def check_run_name(name):
    """Raise ConfigError unless ``name`` is "" or one plain directory name (no separator, not '.', '..' or absolute)."""
    bad = (os.path.isabs(name) or "/" in name or (os.sep in name) or (os.altsep and os.altsep in name) or
           name in (".", "..") or name.startswith(".") or "\0" in name)
    if name and bad:
        raise ConfigError(f"config key 'output.name' = {name!r}: expected one directory name inside output.dir "
                          f"(no path separators, not absolute, not starting with '.')")


def _check_tree(config, default, path, all_paths):
    for k, v in config.items():
        p = f"{path}{k}"
        table = path.rstrip(".")
        if table in FREE_TABLES:
            if k in OWN_KEYS[table]:
                _check_value(p, v, default[k])
            else:
                check_finite(p, v)
            continue
        if k not in default:
            raise _unknown(p, list(default), all_paths)
        if isinstance(default[k], dict):
            if not isinstance(v, dict):
                raise ConfigError(f"config key {p!r} must be a table ([{p}]), got {_type_name(v)}")
            _check_tree(v, default[k], p + ".", all_paths)
        else:
            _check_value(p, v, default[k])
    missing = [k for k in default if k not in config and not (path.rstrip(".") in FREE_TABLES and
                                                              k not in OWN_KEYS[path.rstrip(".")])]
    if missing:
        raise ConfigError(f"config key {path + missing[0]!r} is missing")


def check_keys(config):
    """Check the keys, types, choices and ranges of a complete configuration (no cross-key rules)."""
    if not isinstance(config, dict):
        raise ConfigError(f"a configuration is a table of tables, got {_type_name(config)}")
    default = default_config()
    _check_tree(config, default, "", list(_all_keys(default)))


def validate(config):
    """Raise ConfigError for anything wrong in the complete ``config`` (keys, types, ranges, consistency, and
    every argument the optimizer, scheduler and callbacks check); returns ``config``."""
    from .spec import resolve
    resolve(config)
    return config


def _read_toml(path):
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as e:
        raise ConfigError(f"config file {path}: {e.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None


def load_config(path=None, overrides=()):
    """The validated configuration: defaults, updated by the TOML file at ``path`` and then by ``overrides``."""
    config = default_config()
    if path is not None:
        _merge(config, _read_toml(path))
    for a in overrides:
        apply_override(config, a)
    return validate(config)


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)   # JSON's string escapes are TOML's
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def _toml_key(k):
    return k if k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k) else json.dumps(k, ensure_ascii=False)


def dumps(config, prefix=""):
    """The configuration as TOML text (tables of scalars and lists); ``load_config`` reads it back unchanged."""
    lines, tables = [], []
    for k, v in config.items():
        if isinstance(v, dict):
            tables.append((k, v))
        else:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    out = "\n".join(lines)
    for k, v in tables:
        name = prefix + _toml_key(k)
        out += ("\n\n" if out else "") + f"[{name}]\n" + dumps(v, name + ".").strip("\n")
    return out.strip() + "\n"


def copy_config(config):
    """A deep copy of ``config``."""
    return copy.deepcopy(config)
