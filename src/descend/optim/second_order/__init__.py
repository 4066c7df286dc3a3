"""Second-order and closure-driven optimizers (L-BFGS, BFGS, nonlinear CG, Newton, Hessian-free) and line searches."""

__all__ = []
