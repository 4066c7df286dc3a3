"""descend.analysis: the curvature of a loss (Hessian spectrum, trace, density, critical points,
sharpness), its landscape (interpolations, 2-D slices, optimizer trajectories), finite
differences, the flow graph of a computation, and bias-variance and ensemble tools.

Every routine takes ``loss_fn``, a function of no arguments returning the scalar loss Tensor
computed from ``params`` (e.g. ``lambda: F.cross_entropy(model(x), y)`` and
``model.parameters()``), and returns NumPy arrays or floats; none keeps a graph, and each leaves
the parameters exactly as it found them. This floor imports only ``descend.autodiff``; models
and optimizers are reached by duck typing.
"""

from .critical import critical_point
from .density import spectral_density
from .eigen import hessian_eigenvalues
from .ensembles import BestOfInits, best_of_inits, bias_variance
from .graph import draw_graph
from .finite_difference import finite_difference, finite_difference_errors
from .landscape import TrajectoryProjection, loss_interpolation, loss_surface, random_directions, trajectory_projection
from .sharpness import sharpness
from .trace import hessian_trace

__all__ = ["hessian_eigenvalues", "hessian_trace", "spectral_density", "critical_point", "sharpness",
           "random_directions", "loss_interpolation", "loss_surface", "trajectory_projection", "TrajectoryProjection",
           "finite_difference", "finite_difference_errors", "draw_graph", "bias_variance", "best_of_inits",
           "BestOfInits"]
