"""descend.lab: the notes' claims, each shown by an experiment with a figure and a verdict.

One module per lab in this package. A lab states the claim in the notes' words and where the
notes make it, runs an experiment written with descend's public API only, decides the verdict
by a stated criterion, and draws its figures::

    from descend import lab
    lab.names()                              # every lab, in the order of the notes
    result = lab.run("xor", quick=True)      # dict: name, claim, source, confirmed, numbers, figures
    # also writes <out>/xor/result.json and the PNG figures

``descend lab list`` and ``descend lab run NAME [--quick] [--seed N] [--out DIR]`` (or ``--all``)
are the same on the command line.
"""

from .base import Context, Lab, get, lab, names, run

__all__ = ["Context", "Lab", "get", "lab", "names", "run"]
