"""Every public name of descend.lab (the package's exports, and each lab module's public functions, classes
and their public methods) has a docstring."""

import importlib
import inspect
import pkgutil

import descend.lab as L


def _public(mod):
    for name, obj in vars(mod).items():
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if getattr(obj, "__module__", None) != mod.__name__:
            continue                                                      # imported, documented where defined
        yield f"{mod.__name__}.{name}", obj
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and (inspect.isfunction(member) or isinstance(member, property)):
                    yield f"{mod.__name__}.{name}.{attr}", member


def test_every_public_name_of_descend_lab_has_a_docstring():
    modules = [L] + [importlib.import_module(f"descend.lab.{m.name}") for m in pkgutil.iter_modules(L.__path__)]
    missing = [mod.__name__ for mod in modules if not (mod.__doc__ or "").strip()]
    missing += [f"descend.lab.{name}" for name in L.__all__ if not inspect.getdoc(getattr(L, name))]
    for mod in modules:
        missing += [name for name, obj in _public(mod) if not (obj.__doc__ or "").strip()]
    assert missing == [], f"public names of descend.lab without a docstring: {missing}"
    assert len(modules) >= 32                                             # the package and its 31+ labs
