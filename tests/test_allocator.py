"""descend keeps freed array memory in the process (glibc mallopt, see descend/allocator.py)."""

import os
import platform
import resource
import subprocess
import sys

import numpy as np
import pytest

import descend as dc
import descend.nn.functional as F
from descend import allocator

glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
needs_glibc = pytest.mark.skipif(not glibc, reason="the settings apply to glibc only")


@needs_glibc
def test_settings_are_applied_on_glibc():
    assert allocator.APPLIED is True


def test_environment_variable_keeps_the_system_settings():
    env = dict(os.environ, DESCEND_SYSTEM_MALLOC="1")
    out = subprocess.run([sys.executable, "-c", "import descend; print(descend.allocator.APPLIED)"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@needs_glibc
def test_repeated_hessian_vector_products_do_not_page_fault():
    # Without the settings this loop took about 2,900 minor page faults per call (and 1.8x the time).
    rng = np.random.default_rng(0)
    sizes = (784, 512, 256, 10)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += [dc.tensor(rng.uniform(-0.1, 0.1, (fan_out, fan_in))), dc.tensor(np.zeros(fan_out))]
    x = dc.tensor(rng.standard_normal((128, 784)))
    y = dc.tensor(rng.integers(0, 10, 128))
    vs = tuple(dc.tensor(rng.standard_normal(p.shape)) for p in params)

    def loss(*ps):
        h = x
        for i in range(3):
            h = F.linear(h, ps[2 * i], ps[2 * i + 1])
            if i < 2:
                h = h.relu()
        return F.cross_entropy(h, y)

    for _ in range(5):
        dc.hvp(loss, tuple(params), vs)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        dc.hvp(loss, tuple(params), vs)
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 10
    assert faults < 100
