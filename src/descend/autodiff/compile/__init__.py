"""``dc.compile``: trace a training step once, then replay its NumPy kernels without the graph.

``step = dc.compile(step_fn)`` returns a function with ``step_fn``'s signature. A step is the
composition of the boxes y = f(x₁, ..., xₙ) that its forward pass and its backward rules run
(the vector-Jacobian products are boxes too), the writes of the leaves' gradients
∂L/∂θ into ``θ.grad``, and host operations (``optimizer.zero_grad()``, ``optimizer.step()``,
``clip_grad_norm_``, ``scheduler.step()``) that work on the arrays in place. Eager execution
rebuilds that composition at every call: one Tensor and one box object per operation, a graph,
a topological sort. Compiled, the composition is recorded once as a flat list (a *tape*) and
replayed: each entry calls the box's ``forward`` on the arrays of its inputs, with no Tensor,
box or graph made per step; the host operations are called again as they are, in their order,
so that an optimizer sees exactly the gradients the eager step would give it.

How a call runs (per *signature*: the shapes and dtypes of the Tensor and array arguments and the
values of the other arguments):

1. the first two calls run eagerly while the tape is recorded (they are ordinary eager steps);
2. the two tapes are compared. They must run the same boxes with the same options in the same
   order. An array that no recorded box made and that is not an argument (a parameter, a buffer,
   a constant such as the seed 1 of backward) is read at replay from the same Tensor or array
   when both calls used the same one; one whose values were equal in both calls is a constant;
   one equal to an argument's values (the integer labels that ``cross_entropy`` copies) is that
   argument, recomputed; anything else differs between calls with no box that explains it, so
   the step is not replayable;
3. later calls replay the tape. While both traced calls had the same argument values, a replay
   first checks that the arguments still have them (a different batch is traced once more and
   compared, which proves that constants do not depend on the data).

Random draws (dropout's masks, ``dc.rand``/``dc.randn`` in the step) and batch normalization's
running statistics are :func:`array_op` calls: recorded, and made again at each replay, so a
replay draws from descend's generator exactly as the eager step would.

What cannot be compiled falls back to eager execution for this function with one warning naming
the cause (``strict=True`` raises instead, after the step ran eagerly once): reading values into
Python (``.item()``, ``float()``, ``bool()``: control flow on data), reading a tensor's array
(``.data``, ``.numpy()``, ``np.asarray``) in code outside descend unless it goes to an
``array_op`` or the code is a host operation (the trace watches ``Tensor.data`` while it
records; the warning names the reading function and line), other in-place changes of
tensors outside the host operations and ``array_op`` calls, an ``array_op`` whose arguments
change between calls (batch normalization with ``momentum=None``), random draws outside an
``array_op`` (``nn.init`` in the step), gradient and module hooks, ``create_graph``/``dc.grad``
inside the step, forward mode, arguments that are not Tensors, arrays or hashable values.

Attributes read through :func:`guard_attribute` (every module's ``training`` flag and its
version, which counts what was set on it between calls; whether any module has hooks) and the
``requires_grad`` of every parameter the recording reads are part of the key: after a new
``Dropout.p``, a replaced layer or a frozen one the step is traced again, and after
``model.eval()`` too, while back in training mode the first recording is replayed
(``CACHE_LIMIT`` recordings are kept).
Other Python values that the traced code reads (a global, a closure's variable) are frozen into
the replay: pass them as arguments (a new argument value is a new signature). The host
operations read theirs at each call, so learning rates set by hand or by a scheduler take effect.
"""

from .step import CompiledStep, CompileError, compile
from .trace import array_op, guard_attribute, host_op, tracing

__all__ = ["compile", "host_op", "array_op", "guard_attribute", "tracing", "CompileError", "CompiledStep"]
