"""What a tensor may hold and how operands of different dtypes meet (issue 10).

A tensor holds bool, integer or floating numbers; everything else raises TypeError saying what
was given. Python numbers, lists, NumPy scalars and 0-d arrays are weak (they take the tensor's
dtype); a NumPy array with dimensions follows the tensor rule: float32 meeting float64 raises.
"""

import numpy as np
import pytest

import descend as dc
from descend import nn
from descend.autodiff.extend import wrap

STRINGS = np.array(["a", "b"])
COMPLEX = np.array([1 + 2j, 3j])
DATES = np.array(["2020-01-01", "2021-01-01"], dtype="datetime64[D]")
OBJECTS = np.array([{}, []], dtype=object)


@pytest.mark.parametrize("make", [dc.tensor, dc.from_numpy, nn.Parameter, wrap, lambda a: dc.Tensor(a, copy=False),
                                  dc.zeros_like, dc.ones_like, lambda a: dc.full_like(a, 1)])
@pytest.mark.parametrize("array,phrase", [(STRINGS, "strings"), (COMPLEX, "complex"), (DATES, "datetimes"),
                                          (OBJECTS, "objects")])
def test_only_bool_integer_and_floating_arrays_make_tensors(make, array, phrase):
    with pytest.raises(TypeError, match=phrase):
        make(array)


def test_the_issue_example_and_lists():
    with pytest.raises(TypeError, match=r"strings \(NumPy dtype <U32\)"):
        dc.tensor([1, "a", 2.0])
    with pytest.raises(TypeError, match="complex"):
        dc.tensor([1.0, 2j])
    with pytest.raises(TypeError, match="expected numbers"):
        dc.tensor([1.0, None, {}])


@pytest.mark.parametrize("factory", [
    lambda dt: dc.zeros(2, dtype=dt), lambda dt: dc.ones(2, dtype=dt), lambda dt: dc.empty(2, dtype=dt),
    lambda dt: dc.full((2,), 1, dtype=dt), lambda dt: dc.arange(3, dtype=dt), lambda dt: dc.linspace(0, 1, 3, dtype=dt),
    lambda dt: dc.eye(2, dtype=dt), lambda dt: dc.rand(2, dtype=dt), lambda dt: dc.randn(2, dtype=dt),
    lambda dt: dc.randint(0, 3, (2,), dtype=dt), lambda dt: dc.randperm(3, dtype=dt),
    lambda dt: dc.tensor([1.0], dtype=dt),
    lambda dt: dc.zeros_like(dc.ones(2), dtype=dt), lambda dt: dc.tensor([1.0]).to(dt),
])
@pytest.mark.parametrize("dtype", ["complex64", np.str_, "datetime64[s]", object])
def test_every_factory_refuses_other_dtypes(factory, dtype):
    with pytest.raises(TypeError, match="not a tensor dtype"):
        factory(dtype)


@pytest.mark.parametrize("call", [lambda: dc.full((2,), 1j), lambda: dc.full((2,), "1"), lambda: dc.full((2,), None),
                                  lambda: dc.full_like(dc.ones(2), 2j), lambda: dc.arange(3j),
                                  lambda: dc.linspace(0, 1j, 3), lambda: dc.tensor([1.0]).fill_(1j)])
def test_fill_values_and_bounds_must_be_real_numbers(call):
    with pytest.raises(TypeError, match="real number|complex"):
        call()


def test_fill_values_keep_their_kind():
    assert dc.full((2,), True).dtype == np.bool_
    assert dc.full((2,), 3).dtype == np.int64
    assert dc.full((2,), 2.5).dtype == dc.float32
    assert dc.full((2,), dc.tensor(2.5)).tolist() == [2.5, 2.5]


def test_unsigned_integers_that_do_not_fit_int64_raise():
    assert dc.tensor(np.array([2**63 - 1], dtype=np.uint64)).tolist() == [2**63 - 1]
    with pytest.raises(ValueError, match="does not fit in int64"):
        dc.tensor(np.array([2**63], dtype=np.uint64))


# --------------------------------------------------------------------------- operands of different dtypes
BINARY = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: a ** b,
          lambda a, b: dc.maximum(a, b), lambda a, b: dc.minimum(a, b), lambda a, b: dc.where(a > 0, a, b),
          lambda a, b: a < b, lambda a, b: a == b]


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("tensor_dtype,array_dtype", [("float32", np.float64), ("float64", np.float32)])
def test_a_numpy_array_of_the_other_precision_raises_in_either_order(op, tensor_dtype, array_dtype):
    x = dc.tensor([1.0, 2.0], dtype=tensor_dtype)
    arr = np.array([0.5, 4.0], dtype=array_dtype)
    for a, b in ((x, arr), (arr, x)):
        with pytest.raises(
            TypeError, match=f"NumPy array of dtype {np.dtype(array_dtype)} meets a tensor of dtype {tensor_dtype}"
        ):
            op(a, b)


def test_matmul_with_an_array_of_the_other_precision_raises():
    with pytest.raises(TypeError, match="float64 meets a tensor of dtype float32"):
        dc.ones(2, 2) @ np.ones((2, 2))


@pytest.mark.parametrize("weak", [0.1, 3, np.float64(0.1), np.array(0.1), np.float16(0.1), [0.1, 0.1], (0.1, 0.1)])
def test_weak_values_take_the_tensor_dtype(weak):
    x = dc.tensor([1.0, 2.0])
    y = x * weak
    assert y.dtype == dc.float32
    expected = np.array([1.0, 2.0], dtype=np.float32) * np.asarray(weak).astype(np.float32)
    np.testing.assert_array_equal(y.numpy(), expected)


def test_arrays_of_a_lower_kind_are_converted_to_the_tensor_dtype():
    x = dc.tensor([1.0, 2.0])
    assert (x + np.array([1, 2])).dtype == dc.float32
    assert (x * np.array([True, False])).tolist() == [1.0, 0.0]
    assert (x + np.array([1.0, 2.0], dtype=np.float32)).tolist() == [2.0, 4.0]


def test_integer_and_boolean_tensors_meeting_higher_kinds():
    i = dc.arange(3)
    assert (i + np.array([0.5, 0.5, 0.5])).dtype == np.float64  # an array keeps its dtype (the tensor rule)
    assert (i + 0.5).dtype == dc.float32  # a weak float takes the default dtype
    b = dc.tensor([True, False])
    assert (b + 2).tolist() == [3, 2] and (b + 2).dtype == np.int64  # not True + True = True


def test_complex_and_string_operands_raise():
    x = dc.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="complex"):
        x + 1j
    with pytest.raises(TypeError, match="strings"):
        x * "a"
    with pytest.raises(TypeError, match="complex"):
        x - COMPLEX


def test_clamp_bounds_are_numbers_that_take_the_tensor_dtype():
    """np.float64 bounds made a float32 tensor float64; array bounds promoted it too."""
    x = dc.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.clamp(min=np.float64(1.5), max=2.5)
    assert y.dtype == dc.float32 and y.tolist() == [1.5, 2.0, 2.5]
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]
    for bound in (np.array([1.5, 1.5, 1.5]), dc.tensor([1.5, 1.5, 1.5])):
        with pytest.raises(TypeError, match="dc.maximum"):
            x.clamp(min=bound)
    with pytest.raises(TypeError, match="not a real number"):
        x.clamp(max="a")
    assert dc.arange(4).clamp(1, 2).tolist() == [1, 1, 2, 2]
    assert dc.arange(4).clamp(0.5, 2.5).dtype == dc.float32
