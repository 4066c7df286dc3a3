"""``Trainer``: the training loop of the notes, with callbacks, metrics, checkpoints and resume.

One epoch = one pass of the loader; one step (iteration) = one mini-batch B:
    L_B(θ) = (1/|B|) Σ_{n∈B} ℓ(f(x_n; θ), t_n),   g = ∇_θ L_B,   θ ← optimizer update(θ, g).
Closure-based optimizers (L-BFGS, conjugate gradient, Newton, Hessian-free) receive a closure that
recomputes L_B and its gradient, as ``opt.step(closure)``; Hessian-free with Gauss-Newton curvature also
gets ``output_fn`` (the outputs z = f(x_B; θ)) and ``loss_fn`` (z ↦ ℓ(z, t_B)). Multi-task models return a
dict of outputs {k: y_k}; ``loss`` is then a dict {k: ℓ_k} and the total is L = Σ_k w_k L_k
(``loss_weights``, default 1); the targets are the batch's fields after the input, in the order of the
loss dict.
"""

import contextlib
import copy
import time

import numpy as np

from ..autodiff import Tensor, get_rng_state, no_grad, set_rng_state
from ..autodiff import compile as dc_compile
from ..autodiff.extend import needs_closure, wrap
from ..data import DataLoader, Dataset, TensorDataset
from .callbacks.base import Callback, overrides
from .callbacks.history import History
from .callbacks.progress import EpochLogger, ProgressBar
from .checkpoint import load_checkpoint, save_checkpoint
from .metrics import EpochMeter, applicable, resolve
from .state import copy_state, load_model_state, state_mismatches

HOOKS = ("on_fit_start", "on_fit_end", "on_epoch_start", "on_epoch_end", "on_batch_start", "on_batch_end",
         "on_after_backward")
STATE_KEYS = ("epoch", "global_step", "stop_training", "stop_reason", "model", "optimizer_class", "optimizer",
              "callbacks", "rng")


def _printers(verbose, progress):
    """(verbose, progress, the printing callbacks): a bar if ``progress`` (None: verbose == 1), lines if verbose."""
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"Trainer: verbose={verbose!r}; expected 0 (silent), 1 (progress bar and one line per "
                         f"epoch) or 2 (one line per epoch)")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"Trainer: progress={progress!r}; expected True, False or None (follow verbose)")
    progress = verbose == 1 if progress is None else progress
    return verbose, progress, ([ProgressBar()] if progress else []) + ([EpochLogger()] if verbose else [])


def _arranged(callbacks):
    """The callbacks in calling order: a History first (added if none is given), checkpoint writers last, so
    that they save the state every other callback has updated at the epoch's end."""
    callbacks = list(callbacks)
    for c in callbacks:
        if not isinstance(c, Callback):
            raise TypeError(f"Trainer: callbacks must be train.Callback objects, got {type(c).__name__}")
    if not any(isinstance(c, History) for c in callbacks):
        callbacks.insert(0, History())
    return sorted(callbacks, key=lambda c: getattr(c, "runs_last", False))


def as_loader(data, batch_size=32, shuffle=False, seed=None):
    """A DataLoader for ``data``: a DataLoader (as is), a Dataset, or a tuple (X, T, ...) of arrays/Tensors."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, tuple):
        data = TensorDataset(*data)
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)
    raise TypeError(f"expected a DataLoader, a Dataset or a tuple (inputs, targets), got {type(data).__name__}")


class Trainer:
    """Train ``model`` by minimising ``loss(model(x), t)`` with ``optimizer``.

    - ``fit(train, val=None, epochs=1)``: trains ``epochs`` more epochs (Keras's meaning: the epoch counter
      ``trainer.epoch`` continues, so a second call, or a call after ``load_checkpoint``, trains that many
      more); returns the History (a dict of per-epoch lists).
    - ``evaluate(data)``: {"loss": ..., metric: ...} under ``no_grad`` in eval mode.
    - ``predict(data)``: the outputs on all inputs, concatenated (N, ...).
    - ``save_checkpoint(path)`` / ``load_checkpoint(path)``: everything needed to resume bit for bit.

    ``metrics``: "auto" (accuracy where the targets are class labels), None, a list of names ("accuracy",
    "mse") and callables ``m(output, target) -> (total, count)``, or for multi-task models a dict {task: ...};
    a metric named explicitly that does not apply raises on the first batch (see ``train.metrics``).
    ``verbose``: 1 a progress bar and one line per epoch, 2 the lines only, 0 silent; ``progress`` turns the
    bar on or off whatever ``verbose`` says (None: on with verbose=1).

    ``compile`` (default ``"auto"``) replays the training step with :func:`descend.compile`: the same numbers
    as eager execution, with less Python per step. The first two batches of each shape, optimizers that need
    a closure and ``on_after_backward`` callbacks run eagerly. A step that cannot be compiled (e.g. a layer
    that reads a value into Python) runs eagerly: silently with ``"auto"`` (as Keras' ``jit_compile="auto"``;
    the cause is then in ``trainer.compile_fallback``), after one ``RuntimeWarning`` with ``True``.
    ``False`` always runs eagerly.

    Per-epoch logs hold ``loss``, each metric, ``val_loss`` and ``val_<metric>`` when ``val`` is given,
    ``lr`` and ``time``; for multi-task losses also ``loss_<task>``. Counters: ``epoch`` (epochs done) and
    ``global_step`` (optimizer steps done).
    """

    def __init__(self, model, loss, optimizer, callbacks=(), metrics="auto", loss_weights=None, batch_size=32,
                 shuffle=True, seed=None, verbose=1, progress=None, eval_batch_size=1024, compile="auto"):
        self.model = model
        if not (isinstance(compile, bool) or compile == "auto"):
            raise ValueError(f"Trainer: compile={compile!r}; expected True, False or \"auto\"")
        self.compile = compile
        self._compiled = None
        self.loss = loss
        self.optimizer = optimizer
        self.multitask = isinstance(loss, dict)
        if self.multitask:
            weights = dict(loss_weights or {})
            unknown = set(weights) - set(loss)
            if unknown:
                raise ValueError(f"Trainer: loss_weights name tasks {sorted(unknown)} that have no loss; tasks: "
                                 f"{sorted(loss)}")
            self.loss_weights = {k: float(weights.get(k, 1.0)) for k in loss}
        elif not callable(loss):
            raise TypeError(f"Trainer: loss must be callable (output, target) -> scalar Tensor or a dict of them, "
                            f"got {type(loss).__name__}")
        self.tasks = list(loss) if self.multitask else None
        self.metrics = resolve(metrics, self.tasks)
        self._applicable = None  # the metrics that apply to the data, decided on the first batch
        self.verbose, self.progress, printers = _printers(verbose, progress)
        self.callbacks = _arranged(callbacks)
        self.history = next(c for c in self.callbacks if isinstance(c, History))
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.eval_batch_size = eval_batch_size
        self.closure_based = needs_closure(optimizer)
        groups = getattr(optimizer, "param_groups", None) or [{}]
        self._gauss_newton = self.closure_based and groups[0].get("curvature") == "gauss-newton"
        self.epoch = 0
        self.global_step = 0
        self.target_epochs = 0
        self.stop_training = False
        self.stop_reason = None
        self.nan_step = None
        self.last_loss = None
        self.last_output = None
        self.last_parts = None
        self.last_logs = None
        self.train_loader = None
        self._pending_loader_state = None
        for c in self.callbacks:
            c.setup(self)
        self._hooks = {h: [c for c in self.callbacks + printers if overrides(c, h)] for h in HOOKS}

    def _call(self, hook, *args):
        for c in self._hooks[hook]:
            getattr(c, hook)(self, *args)

    # ------------------------------------------------------------------ loss
    def compute_loss(self, output, targets):
        """The total loss Tensor and, for multi-task models, the per-task loss Tensors."""
        if not self.multitask:
            return self.loss(output, targets[0]), None
        if not isinstance(output, dict):
            raise TypeError(f"Trainer: a dict of losses needs a model returning a dict of outputs, got "
                            f"{type(output).__name__}")
        if len(targets) != len(self.loss):
            raise ValueError(f"Trainer: {len(self.loss)} task losses ({', '.join(self.loss)}) need as many target "
                             f"fields after the inputs, got {len(targets)}")
        parts = {k: fn(output[k], t) for (k, fn), t in zip(self.loss.items(), targets)}
        total = None
        for k, p in parts.items():
            term = p * self.loss_weights[k]
            total = term if total is None else total + term
        return total, parts

    def _outputs(self, output):
        """The output Tensors, one per task (in the order of the targets), for the metrics."""
        return [output[k] for k in self.tasks] if self.multitask else (output,)

    def _forward(self, x, targets):
        """Outputs, total loss and per-task losses on one batch; on the first batch, which metrics apply."""
        out = self.model(x)
        loss, parts = self.compute_loss(out, targets)
        if self._applicable is None:
            self._applicable = applicable(self.metrics, self._outputs(out), targets) if self.metrics else []
        return out, loss, parts

    # ------------------------------------------------------------------ one step
    def train_step(self, batch):
        """One optimisation step on ``batch`` = (x, t, ...); returns the loss (float) before the step."""
        x, targets = batch[0], batch[1:]
        opt = self.optimizer
        after = self._hooks["on_after_backward"]
        if self.closure_based:
            first = {}

            def closure():
                opt.zero_grad()
                out, loss, parts = self._forward(x, targets)
                loss.backward()
                if not first:
                    first.update(out=out, loss=loss, parts=parts)
                    for c in after:
                        c.on_after_backward(self)
                return loss

            if self._gauss_newton and not self.multitask:
                opt.step(closure, output_fn=lambda: self.model(x), loss_fn=lambda z: self.loss(z, targets[0]))
            else:
                opt.step(closure)
            out, loss, parts = first["out"], first["loss"], first["parts"]
        elif self.compile and self._applicable is not None and \
                not any(c.needs_eager_step(self) if hasattr(c, "needs_eager_step") else True for c in after):
            if self._compiled is None:
                self._compiled = dc_compile(self._plain_step, warn=self.compile is True)
            out, loss, parts = self._compiled(x, *targets)
        else:
            out, loss, parts = self._plain_step(x, *targets, after=after)
        self.last_output = out
        self.last_parts = parts
        self.last_loss = float(loss.data)
        return self.last_loss

    @property
    def compile_fallback(self):
        """Why the compiled training step runs eagerly (e.g. "the step reads a tensor's value into
        Python"), or None while it is compiled or not used."""
        return None if self._compiled is None else self._compiled.eager_reason

    def _plain_step(self, x, *targets, after=()):
        """zero_grad, forward, loss, backward, (callbacks,) step: the function ``compile=True`` compiles."""
        opt = self.optimizer
        opt.zero_grad()
        out, loss, parts = self._forward(x, targets)
        loss.backward()
        for c in after:
            c.on_after_backward(self)
        opt.step()
        return out, loss, parts

    # ------------------------------------------------------------------ fit
    def fit(self, train, val=None, epochs=1):
        """Train ``epochs`` more epochs, ``self.epoch + 1 .. self.epoch + epochs``, unless a callback stops
        training earlier (EarlyStopping, TerminateOnNaN); returns ``History.history`` (a dict of lists)."""
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"Trainer.fit: epochs={epochs!r}; expected a non-negative integer (how many more "
                             f"epochs to train)")
        loader = self._training_loader(train)
        val_loader = None if val is None else as_loader(val, self.eval_batch_size, seed=0)
        self._check_monitors(validation=val_loader is not None)
        self.stop_training, self.stop_reason, self.nan_step = False, None, None
        self._applicable = None
        self.target_epochs = self.epoch + int(epochs)
        self._call("on_fit_start")
        try:
            while self.epoch < self.target_epochs and not self.stop_training:
                self._run_epoch(loader, val_loader)
        finally:
            self._call("on_fit_end")
        return self.history.history

    def _training_loader(self, train):
        loader = as_loader(train, self.batch_size, self.shuffle, self.seed)
        self.train_loader = loader
        if self._pending_loader_state is not None:
            loader.load_state_dict(self._pending_loader_state)
            self._pending_loader_state = None
        return loader

    def _check_monitors(self, validation):
        """A callback watching ``val_loss`` or ``val_<metric>`` without validation data fails now, not after an
        epoch (other names are checked against the logs at the first epoch's end)."""
        if validation:
            return
        produced = {"val_loss"} | {f"val_{m.name}" for m in self.metrics}
        produced |= {f"val_loss_{k}" for k in self.tasks or ()}
        for c in self.callbacks:
            if getattr(c, "monitor", None) in produced:
                raise ValueError(f"{type(c).__name__} monitors {c.monitor!r}, but fit() got no validation data; "
                                 f"pass val=..., or monitor a training value such as 'loss'")

    def _run_epoch(self, loader, val_loader):
        """One epoch: the training steps, then the validation pass, the logs and the epoch-end callbacks."""
        epoch = self.epoch + 1
        self._call("on_epoch_start", epoch)
        if hasattr(self.model, "train"):
            self.model.train()
        t0 = time.perf_counter()
        meter = EpochMeter()
        batch_start, batch_end = self._hooks["on_batch_start"], self._hooks["on_batch_end"]
        for i, batch in enumerate(loader):
            for c in batch_start:
                c.on_batch_start(self, batch)
            value = self.train_step(batch)
            self.global_step += 1
            n = len(batch[0].data)
            if self._applicable:
                meter.update(n, value, self.last_parts, self._applicable, self._outputs(self.last_output), batch[1:])
            else:
                meter.update(n, value, self.last_parts)
            if batch_end:
                logs = {"loss": value, "batch": i, "global_step": self.global_step, "size": n}
                for c in batch_end:
                    c.on_batch_end(self, batch, logs)
            if self.stop_training:
                break
        if self.nan_step is not None:
            return
        logs = {"epoch": epoch, **meter.logs()}
        if val_loader is not None:
            logs.update((f"val_{k}", v) for k, v in self._evaluate_loader(val_loader).items())
        groups = getattr(self.optimizer, "param_groups", None)
        if groups:
            logs["lr"] = float(groups[0]["lr"])
        logs["time"] = time.perf_counter() - t0
        self.epoch = epoch
        self.last_logs = logs
        self._call("on_epoch_end", epoch, logs)

    # ------------------------------------------------------------------ evaluation
    @contextlib.contextmanager
    def evaluating(self):
        """``with trainer.evaluating():`` the model in eval mode under ``no_grad``; its mode is restored after."""
        training = getattr(self.model, "training", None)
        if hasattr(self.model, "eval"):
            self.model.eval()
        try:
            with no_grad():
                yield
        finally:
            if training and hasattr(self.model, "train"):
                self.model.train()

    def _evaluate_loader(self, loader):
        meter = EpochMeter()
        with self.evaluating():
            for batch in loader:
                out, loss, parts = self._forward(batch[0], batch[1:])
                meter.update(len(batch[0].data), float(loss.data), parts, self._applicable, self._outputs(out),
                             batch[1:])
        return meter.logs()

    def evaluate(self, data):
        """{"loss": mean loss, metric: value, ...} on ``data`` (DataLoader, Dataset or (X, T) tuple), without grad."""
        return self._evaluate_loader(as_loader(data, self.eval_batch_size, seed=0))

    def predict(self, data):
        """The model's outputs on all inputs of ``data``, as a Tensor.

        ``data`` is a Tensor or array X, a Dataset or a DataLoader.
        """
        if isinstance(data, (Tensor, np.ndarray)):
            data = (data,)
        loader = as_loader(data, self.eval_batch_size, seed=0)
        with self.evaluating():
            outs = [self.model(batch[0]) for batch in loader]
        if isinstance(outs[0], dict):
            return {k: wrap(np.concatenate([o[k].data for o in outs])) for k in outs[0]}
        return wrap(np.concatenate([o.data for o in outs]))

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self):
        """Everything a resumed run needs: model, optimizer, callbacks, counters and every random generator."""
        loader = self.train_loader.state_dict() if self.train_loader is not None else self._pending_loader_state
        has_state = hasattr(self.optimizer, "state_dict")
        return {"epoch": self.epoch, "global_step": self.global_step, "stop_training": self.stop_training,
                "stop_reason": self.stop_reason,
                "model": copy_state(self.model),
                "optimizer_class": type(self.optimizer).__name__,
                "optimizer": self.optimizer.state_dict() if has_state else None,
                "callbacks": [{"class": type(c).__name__, "state": c.state_dict()} for c in self.callbacks],
                "rng": {"descend": get_rng_state(), "numpy": np.random.get_state(), "loader": loader}}

    def load_state_dict(self, state):
        """Restore a state from :meth:`state_dict`, all or nothing.

        Everything is checked first: the model's names, shapes and dtypes, the optimizer's class and parameter
        groups, the callbacks' classes, the counters and the random states; a mismatch raises ValueError listing
        every problem and changes nothing. Then the state is applied; should a part still refuse its state (a
        callback's own check), every object is put back as it was before the call and the error re-raised.
        """
        problems = self._state_problems(state)
        if problems:
            raise ValueError("checkpoint does not fit this Trainer (another architecture, optimizer or callbacks?): "
                             + "; ".join(problems))
        before = copy.deepcopy(self.state_dict())
        try:
            self._apply_state(state)
        except BaseException:
            self._apply_state(before)
            raise

    def _state_problems(self, state):
        """Every reason why ``state`` cannot be loaded into this Trainer, in words (empty if it can)."""
        if not isinstance(state, dict):
            return [f"expected a dict of state, got {type(state).__name__}"]
        missing = [k for k in STATE_KEYS if k not in state]
        if missing:
            return [f"missing entries {missing} (not a Trainer checkpoint, or from an older descend)"]
        problems = []
        for key in ("epoch", "global_step"):
            v = state[key]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                problems.append(f"{key}={v!r} is not a non-negative integer")
        if not isinstance(state["stop_training"], bool):
            problems.append(f"stop_training={state['stop_training']!r} is not True or False")
        problems += _model_problems(self.model, state["model"])
        problems += _optimizer_problems(self.optimizer, state["optimizer_class"], state["optimizer"])
        saved = [s.get("class") if isinstance(s, dict) else None for s in state["callbacks"]]
        names = [type(c).__name__ for c in self.callbacks]
        if saved != names:
            problems.append(f"checkpoint callbacks {saved} differ from this Trainer's {names}")
        problems += _rng_problems(state["rng"])
        return problems

    def _apply_state(self, state):
        if state["optimizer"] is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        load_model_state(self.model, state["model"])
        for c, s in zip(self.callbacks, state["callbacks"]):
            c.load_state_dict(s["state"])
        self.epoch, self.global_step = int(state["epoch"]), int(state["global_step"])
        self.stop_training, self.stop_reason = state["stop_training"], state["stop_reason"]
        set_rng_state(state["rng"]["descend"])
        np.random.set_state(state["rng"]["numpy"])
        self._pending_loader_state = state["rng"]["loader"]
        if self.train_loader is not None and self._pending_loader_state is not None:
            self.train_loader.load_state_dict(self._pending_loader_state)
            self._pending_loader_state = None

    def save_checkpoint(self, path, extra=None):
        """Write the trainer's state (and ``extra`` JSON-able info) to ``path`` atomically (``train.checkpoint``)."""
        state = self.state_dict()
        if extra is not None:
            state["extra"] = extra
        return save_checkpoint(path, state)

    def load_checkpoint(self, path):
        """Load a checkpoint written by :meth:`save_checkpoint` (all or nothing, see :meth:`load_state_dict`);
        returns its ``extra`` info (or None). ``fit(epochs=n)`` afterwards trains n more epochs."""
        state = load_checkpoint(path)
        self.load_state_dict(state)
        return state.get("extra")


def _array(v):
    return v.numpy() if isinstance(v, Tensor) else np.asarray(v)


def _model_problems(model, arrays):
    """Missing, unexpected, mis-shaped and mis-typed entries of the model state ``arrays``."""
    if not isinstance(arrays, dict):
        return [f"model state is a {type(arrays).__name__}, not a dict of arrays"]
    problems = state_mismatches(model, arrays)
    for k, v in model.state_dict().items():
        if k in arrays and np.shape(arrays[k]) == np.shape(_array(v)):
            saved, own = _array(arrays[k]).dtype, _array(v).dtype
            if saved != own:
                problems.append(f"{k}: checkpoint has dtype {saved}, model has {own}")
    return problems


def _optimizer_problems(optimizer, saved_class, saved):
    """Differences between the saved optimizer state and ``optimizer``: its class, its groups and their sizes."""
    own_class = type(optimizer).__name__
    if saved_class != own_class:
        return [f"the checkpoint's optimizer is {saved_class}, this Trainer's is {own_class}"]
    if not hasattr(optimizer, "state_dict"):
        return [] if saved is None else [f"the checkpoint holds optimizer state, but {own_class} keeps none"]
    if not isinstance(saved, dict) or not isinstance(saved.get("param_groups"), list) or "state" not in saved:
        return ["the optimizer state is not a dict with 'state' and 'param_groups'"]
    own = optimizer.state_dict()["param_groups"]
    if len(saved["param_groups"]) != len(own):
        return [(f"optimizer: the checkpoint has {len(saved['param_groups'])} parameter groups, this optimizer "
                f"{len(own)}")]
    problems = []
    for i, (s, o) in enumerate(zip(saved["param_groups"], own)):
        if isinstance(o, dict) and "params" in o and len(s.get("params", ())) != len(o["params"]):
            problems.append(f"optimizer group {i}: the checkpoint has {len(s.get('params', ()))} parameters, this "
                            f"optimizer {len(o['params'])}")
    return problems


def _rng_problems(rng):
    """Why the saved random states cannot be restored, found by restoring them into fresh generators (the real
    ones are untouched)."""
    if not isinstance(rng, dict) or not {"descend", "numpy", "loader"} <= set(rng):
        return ["the random states are not a dict with 'descend', 'numpy' and 'loader'"]
    problems = [_bit_generator_problem("descend's generator", rng["descend"], get_rng_state()["bit_generator"])]
    try:
        np.random.RandomState().set_state(rng["numpy"])
    except (TypeError, ValueError, IndexError) as e:
        problems.append(f"NumPy's global generator state cannot be restored ({e})")
    loader = rng["loader"]
    if loader is not None:
        if not isinstance(loader, dict) or not {"rng", "pos", "order", "fixed_order"} <= set(loader):
            problems.append("the loader state is not a dict with 'rng', 'pos', 'order' and 'fixed_order'")
        else:
            problems.append(_bit_generator_problem("the loader's generator", loader["rng"]))
    return [p for p in problems if p is not None]


def _bit_generator_problem(name, state, expected=None):
    """None if ``state`` restores into a new NumPy bit generator of the kind it names (e.g. PCG64; ``expected``
    if given), else why not."""
    named = state.get("bit_generator") if isinstance(state, dict) else None
    kind = getattr(np.random, str(named), None)
    if not (isinstance(kind, type) and issubclass(kind, np.random.BitGenerator)):
        return f"{name} state does not name a NumPy bit generator"
    if expected is not None and named != expected:
        return f"{name} is a {expected}, the checkpoint's state is for a {named}"
    try:
        kind().state = state
    except (TypeError, ValueError, KeyError) as e:
        return f"{name} state cannot be restored ({e})"
    return None
