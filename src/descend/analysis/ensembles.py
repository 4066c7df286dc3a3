"""The bias-variance decomposition, and the best of several random initializations.

For a learner that, trained on a data set D, predicts f_D(x), and a target y(x), the expected
squared error over data sets splits exactly (at each x, then averaged over the points x):

    E_D[(f_D(x) − y(x))²] = (f̄(x) − y(x))² + E_D[(f_D(x) − f̄(x))²],    f̄(x) = E_D[f_D(x)],
         expected error    =       bias²      +        variance.

A flexible model has a small bias and a large variance, a rigid one the reverse: the notes'
trade-off. Here E_D is the mean over the given data sets (with y the noiseless target, the
noise term of the error is left out).
"""

from collections import namedtuple

import numpy as np

from .. import autodiff as ad

__all__ = ["bias_variance", "best_of_inits", "BestOfInits"]

BestOfInits = namedtuple("BestOfInits", "model seed losses")
BestOfInits.__doc__ = """The model with the lowest validation loss, its seed, and every seed's loss (float64 array)."""


def _predict(model, x, who):
    if hasattr(model, "eval"):
        model.eval()
    if callable(model):
        with ad.no_grad():
            y = model(x)
    else:
        y = model  # fit returned the predictions themselves
    y = y.numpy() if isinstance(y, ad.Tensor) else y
    try:
        return np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{who}: fit must return a model (a callable x ↦ predictions) or the predictions at x, "
                        f"got {type(y).__name__}") from None


def bias_variance(fit, datasets, x, y_true):
    """{"bias_squared", "variance", "sum", "expected_error", "mean_prediction", "predictions"}.

    ``fit(D)`` trains a fresh model on data set D (any object) and returns it (a callable,
    evaluated at ``x`` under no_grad, in eval mode if it has ``eval()``) or its predictions at
    ``x``. ``y_true`` holds the target values at ``x``; each model's predictions must have its
    shape. bias² = mean_x (f̄ − y)², variance = mean_x mean_D (f_D − f̄)², expected_error =
    mean_x mean_D (f_D − y)² (floats; ``sum`` = bias² + variance equals it up to rounding);
    ``mean_prediction`` f̄ (shape of y_true) and ``predictions`` (len(datasets), ...) are arrays.
    """
    who = "bias_variance"
    if not callable(fit):
        raise TypeError(f"{who}: fit must be a function D ↦ trained model, got {type(fit).__name__}")
    datasets = list(datasets)
    if len(datasets) < 2:
        raise ValueError(f"{who}: the variance needs at least 2 data sets, got {len(datasets)}")
    y = np.asarray(y_true.numpy() if isinstance(y_true, ad.Tensor) else y_true, dtype=np.float64)
    preds = []
    for i, D in enumerate(datasets):
        p = _predict(fit(D), x, who)
        if p.shape != y.shape:
            raise ValueError(f"{who}: the model fitted to data set {i} predicts shape {p.shape} at x, but y_true has "
                             f"shape {y.shape}")
        preds.append(p)
    P = np.stack(preds)
    mean = P.mean(axis=0)
    bias2 = float(np.mean((mean - y) ** 2))
    variance = float(np.mean((P - mean) ** 2))
    return {"bias_squared": bias2, "variance": variance, "sum": bias2 + variance,
            "expected_error": float(np.mean((P - y) ** 2)), "mean_prediction": mean, "predictions": P}


def best_of_inits(make_model, train, seeds):
    """Train a model from each random initialization and keep the best (a :class:`BestOfInits`).

    For each seed, descend's generator is seeded (``dc.manual_seed(seed)``), ``make_model()``
    builds a freshly initialized model and ``train(model)`` trains it and returns its validation
    loss. The model with the lowest loss is returned (NaN losses never win); descend's generator
    is put back as it was.
    """
    who = "best_of_inits"
    seeds = list(seeds)
    if not seeds:
        raise ValueError(f"{who}: seeds is empty")
    saved = ad.get_rng_state()
    best, losses = None, []
    try:
        for seed in seeds:
            ad.manual_seed(seed)
            model = make_model()
            value = train(model)
            try:
                value = float(value.item() if isinstance(value, ad.Tensor) else value)
            except (TypeError, ValueError):
                raise TypeError(f"{who}: train(model) must return the validation loss (a number), "
                                f"got {type(value).__name__}") from None
            losses.append(value)
            if not np.isnan(value) and (best is None or value < best[0]):
                best = (value, seed, model)
    finally:
        ad.set_rng_state(saved)
    if best is None:
        raise ValueError(f"{who}: every run ended with a NaN validation loss (seeds {seeds})")
    return BestOfInits(best[2], best[1], np.array(losses))
