import numpy as np
import pytest

from descend.data import transforms as T


def _img():
    x = np.zeros((1, 5, 5), np.float32)
    x[0, 2, 1] = 1.0
    return x


def test_shift_moves_pixels_and_fills_zero():
    out = T.RandomShift(2, seed=0)(np.repeat(_img(), 50, 0))
    rng = np.random.default_rng(0)
    d = rng.integers(-2, 3, size=(50, 2))
    for k in range(50):
        r, c = 2 + d[k, 0], 1 + d[k, 1]
        expected = np.zeros((5, 5), np.float32)
        if 0 <= c < 5:
            expected[r, c] = 1
        np.testing.assert_array_equal(out[k], expected)


def test_horizontal_flip_probability_one_and_zero():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x), x)


def test_rotation_by_zero_is_identity_and_90_moves_pixel():
    x = np.random.default_rng(0).normal(size=(3, 2, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(T.RandomRotation(0.0)(x), x)
    r = T.RandomRotation(90.0)
    r.apply = lambda x, rng, self=r: T.RandomRotation.apply(self, x, _FixedRng(90.0))
    out = r(_img())
    assert out.sum() == 1.0 and out[0, 2, 1] == 0.0


class _FixedRng:
    def __init__(self, v):
        self.v = v

    def uniform(self, lo, hi, size):
        return np.full(size, self.v)


def test_flat_inputs_with_image_shape_and_noise_statistics():
    x = np.zeros((2000, 16), np.float32)
    out = T.GaussianNoise(0.5, seed=1)(x)
    assert abs(out.std() - 0.5) < 0.01 and out.shape == (2000, 16)
    flip = T.RandomHorizontalFlip(1.0, image_shape=(4, 4))(np.arange(16.0)[None].repeat(2, 0))
    np.testing.assert_array_equal(flip[0].reshape(4, 4), np.arange(16.0).reshape(4, 4)[:, ::-1])
    with pytest.raises(ValueError, match="image_shape"):
        T.RandomShift(1)(np.zeros((2, 16)))


def test_compose_is_seeded_and_ordered():
    x = np.random.default_rng(0).normal(size=(4, 8, 8)).astype(np.float32)
    c1 = T.Compose([T.RandomShift(1), T.RandomHorizontalFlip(), T.RandomRotation(10), T.GaussianNoise(0.1)], seed=4)
    c2 = T.Compose([T.RandomShift(1), T.RandomHorizontalFlip(), T.RandomRotation(10), T.GaussianNoise(0.1)], seed=4)
    np.testing.assert_array_equal(c1(x), c2(x))
    assert not np.array_equal(c1(x), x)
