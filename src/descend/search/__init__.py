"""descend.search: model selection as the notes teach it.

Trials train on the training split and are compared on a validation metric; the best configuration is
evaluated on the test split once, at the end. Hyperparameters are searched by grid search, random search,
or successive halving (asynchronous, as ASHA, on several workers), on worker processes or a Dask cluster;
every trial is an ordinary, resumable, bit-reproducible descend run. ::

    from descend import search
    from descend.train.config import load_config
    study = search.run(load_config(None, ["training.epochs=3"]),
                       {"optimizer.lr": search.loguniform(1e-4, 1e-1), "model.hidden": search.choice([[64], [256]])},
                       method="random", trials=16, workers=2, out="studies/lr")
    study.best.params, study.test_metrics
    print(study.table())
"""

from .driver import resume, run
from .settings import SearchError, Settings
from .settings import load as load_file
from .space import choice, grid, loguniform, randint, uniform
from .study import Study, load
from .trial import Trial

__all__ = ["grid", "choice", "uniform", "loguniform", "randint", "run", "resume", "load", "load_file", "Study",
           "Trial", "Settings", "SearchError"]
