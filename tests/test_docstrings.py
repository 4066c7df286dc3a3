"""Every public name has a docstring (the API reference renders it), and the reference pages cover them all.

The public API: each module's ``__all__`` (for a package without one, every name not starting with ``_``;
for a plain module without one, what it defines), the submodules an ``__all__`` names, and each public
class's public methods and properties defined in descend. Data constants (dtypes) are not asked for a
docstring of their own.
"""

import importlib
import inspect
import pathlib
import re

import pytest

import descend

MODULES = ["descend", "descend.autodiff", "descend.autodiff.extend", "descend.nn", "descend.nn.functional",
           "descend.nn.init", "descend.optim", "descend.optim.lr_scheduler", "descend.optim.second_order",
           "descend.data", "descend.train", "descend.train.callbacks", "descend.analysis", "descend.search",
           "descend.lab"]
REFERENCE = pathlib.Path(__file__).resolve().parents[1] / "docs" / "reference"


def public_names(module):
    """The public names of ``module`` (see the module docstring), submodules included."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    if hasattr(module, "__path__"):
        return [n for n in dir(module) if not n.startswith("_")]
    return [n for n in dir(module) if not n.startswith("_")
            and getattr(getattr(module, n), "__module__", None) == module.__name__]


def public_modules():
    """MODULES and every public submodule they name, recursively, each once."""
    seen, queue = [], list(MODULES)
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.append(name)
        module = importlib.import_module(name)
        if hasattr(module, "__all__"):  # a package without __all__ re-exports names; its files are not API
            queue += [getattr(module, n).__name__ for n in module.__all__ if inspect.ismodule(getattr(module, n))]
    return seen


def public_objects():
    """(qualified name, object) for every public function, class, method and property, each object once."""
    found, seen = [], set()
    for modname in public_modules():
        module = importlib.import_module(modname)
        found.append((modname, module))
        for n in public_names(module):
            obj = getattr(module, n)
            if inspect.ismodule(obj) or not (inspect.isclass(obj) or callable(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            found.append((f"{modname}.{n}", obj))
            if inspect.isclass(obj):
                for attr, value in vars(obj).items():
                    if attr.startswith("_") or not (inspect.isfunction(value) or isinstance(value, property)):
                        continue
                    found.append((f"{modname}.{n}.{attr}", value))
    return found


# autodiff/tensor.py and function.py are being rewritten on another branch (the compile work), which owns their
# docstrings; these are the names still to document there. Remove a name here once it has its docstring.
AWAITED = set()   # names allowed to lack a docstring for now (none)


def test_every_public_name_has_a_docstring():
    missing = [name for name, obj in public_objects()
               if not (inspect.getdoc(obj) or "").strip() and name not in AWAITED]
    assert not missing, f"{len(missing)} public names have no docstring: {missing}"


def test_the_walk_sees_the_whole_api():
    names = {name for name, _ in public_objects()}
    for expected in ["descend.Tensor.backward", "descend.nn.Linear", "descend.optim.Optimizer.step",
                     "descend.optim.schedules.cosine", "descend.train.Trainer.fit", "descend.analysis.sharpness",
                     "descend.lab.run", "descend.save"]:
        assert expected in names
    assert len(names) > 600


def _documented():
    """The objects the reference pages render: each ``::: module`` directive with its ``members`` list."""
    objects = set()
    for page in REFERENCE.glob("*.md"):
        for path, members in re.findall(r"^::: (\S+)\n((?:    .*\n)*)", page.read_text(encoding="utf-8"), re.M):
            listed = re.search(r"members: \[(.*)\]", members)
            module = importlib.import_module(path)
            for n in listed.group(1).split(", ") if listed else []:
                objects.add(id(getattr(module, n)))
    return objects


@pytest.mark.parametrize("modname", MODULES)
def test_the_reference_renders_every_public_name(modname):
    documented = _documented()
    module = importlib.import_module(modname)
    missing = [n for n in public_names(module) if not inspect.ismodule(getattr(module, n))
               and id(getattr(module, n)) not in documented]
    assert not missing, f"{modname}: not in docs/reference/*.md: {missing}"


def test_the_top_level_reexports_autodiff():
    names = {n for n in public_names(descend.autodiff) if not inspect.ismodule(getattr(descend.autodiff, n))}
    assert names <= set(dir(descend))
