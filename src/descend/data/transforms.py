"""Image augmentation on whole batches: random shift, horizontal flip, small rotation, Gaussian noise.

Each transform maps a batch of images x (N, H, W), (N, C, H, W), or flat (N, H·W) with
``image_shape=(H, W)``, to a batch of the same shape, drawing per-image random parameters from
``rng`` (the loader passes its own generator) or, if no rng is given, from the transform's generator
seeded with ``seed``. ``Compose([...])`` chains them. Geometric transforms resample with nearest
neighbours and fill uncovered pixels with ``fill`` (0). All vectorised: no loop over images.
"""

import numpy as np


class Transform:
    """Base class: ``t(x, rng=None)`` returns the transformed batch."""

    def __init__(self, seed=None, image_shape=None):
        self.rng = np.random.default_rng(seed)
        self.image_shape = tuple(image_shape) if image_shape is not None else None

    def __call__(self, x, rng=None):
        x = np.asarray(x)
        shape = x.shape
        if self.image_shape is not None:
            if x.ndim != 2 or x.shape[1] != int(np.prod(self.image_shape)):
                raise ValueError(f"{type(self).__name__}: image_shape={self.image_shape} needs inputs (N, "
                                 f"{int(np.prod(self.image_shape))}), got {x.shape}")
            x = x.reshape((len(x),) + self.image_shape)
        if x.ndim < 3:
            raise ValueError(f"{type(self).__name__}: expected images (N, H, W) or (N, C, H, W), got shape {shape}; "
                             f"pass image_shape=(H, W) for flat inputs")
        out = self.apply(x, rng if rng is not None else self.rng)
        return out.reshape(shape)

    def apply(self, x, rng):
        """The transform of a batch of images ``x`` (N, H, W) or (N, C, H, W), drawing from the NumPy Generator
        ``rng``; subclasses define it, users call the transform."""
        raise TypeError(f"{type(self).__name__} must define apply(x, rng)")


def _resample(x, rows, cols, fill):
    """x (N, ..., H, W) sampled at integer source coordinates rows, cols (N, H, W); outside -> fill."""
    n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    r, c = np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)
    flat = x.reshape(n, -1, h * w)
    src = (r * w + c).reshape(n, 1, h * w)
    out = np.take_along_axis(flat, np.broadcast_to(src, flat.shape), axis=2)
    out = np.where(inside.reshape(n, 1, h * w), out, np.asarray(fill, dtype=x.dtype))
    return out.reshape(x.shape)


class RandomShift(Transform):
    """Translate each image by integers (dy, dx) drawn uniformly from [-max_shift, max_shift]."""

    def __init__(self, max_shift=1, fill=0.0, seed=None, image_shape=None):
        super().__init__(seed, image_shape)
        if not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
            raise ValueError(f"RandomShift: max_shift={max_shift!r}; expected a non-negative integer")
        self.max_shift, self.fill = int(max_shift), fill

    def apply(self, x, rng):
        n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
        d = rng.integers(-self.max_shift, self.max_shift + 1, size=(n, 2))
        rows = np.arange(h)[None, :, None] - d[:, 0, None, None]
        cols = np.arange(w)[None, None, :] - d[:, 1, None, None]
        return _resample(x, np.broadcast_to(rows, (n, h, w)), np.broadcast_to(cols, (n, h, w)), self.fill)


class RandomHorizontalFlip(Transform):
    """Mirror each image left-right with probability p."""

    def __init__(self, p=0.5, seed=None, image_shape=None):
        super().__init__(seed, image_shape)
        if not 0 <= p <= 1:
            raise ValueError(f"RandomHorizontalFlip: p={p!r}; expected a probability in [0, 1]")
        self.p = p

    def apply(self, x, rng):
        flip = rng.random(len(x)) < self.p
        out = x.copy()
        out[flip] = x[flip][..., ::-1]
        return out


class RandomRotation(Transform):
    """Rotate each image about its centre by an angle drawn uniformly from [-degrees, degrees]."""

    def __init__(self, degrees=10.0, fill=0.0, seed=None, image_shape=None):
        super().__init__(seed, image_shape)
        if degrees < 0:
            raise ValueError(f"RandomRotation: degrees={degrees!r}; expected >= 0")
        self.degrees, self.fill = float(degrees), fill

    def apply(self, x, rng):
        n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
        a = np.deg2rad(rng.uniform(-self.degrees, self.degrees, size=n))[:, None, None]
        cy, cx = (h - 1) / 2, (w - 1) / 2
        yy, xx = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
        # inverse map: the source of output pixel p is R(-a) p
        rows = np.rint(np.cos(a) * yy - np.sin(a) * xx + cy).astype(np.int64)
        cols = np.rint(np.sin(a) * yy + np.cos(a) * xx + cx).astype(np.int64)
        return _resample(x, rows, cols, self.fill)


class GaussianNoise(Transform):
    """Add ε ~ N(0, std²) independently to every pixel."""

    def __init__(self, std=0.1, seed=None, image_shape=None):
        super().__init__(seed, image_shape)
        if std < 0:
            raise ValueError(f"GaussianNoise: std={std!r}; expected >= 0")
        self.std = float(std)

    def __call__(self, x, rng=None):  # works on any shape
        x = np.asarray(x)
        rng = rng if rng is not None else self.rng
        return (x + rng.normal(0.0, self.std, size=x.shape)).astype(x.dtype if x.dtype.kind == "f" else np.float32)

    def apply(self, x, rng):
        return self(x, rng)


class Compose:
    """Apply transforms in order: Compose([t1, t2])(x) = t2(t1(x)), all drawing from the same rng."""

    def __init__(self, transforms, seed=None):
        self.transforms = list(transforms)
        self.rng = np.random.default_rng(seed)

    def __call__(self, x, rng=None):
        rng = rng if rng is not None else self.rng
        for t in self.transforms:
            x = t(x, rng=rng)
        return x
