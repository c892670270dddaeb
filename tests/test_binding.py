"""The binding layer: how user functions reach jacsolve's cached kernels."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import jacsolve
from jacsolve._numba.prepared import prepare


def test_private_numba_names_still_exist():
    # jacsolve reaches user functions through these; pyproject pins numba's range
    from numba.experimental import function_type
    assert callable(function_type._get_wrapper_address)
    assert callable(function_type._get_jit_address)


@jacsolve.jit
def raises_beyond_ten(x):
    if x[0] > 10.0:
        raise ValueError("x[0] is beyond ten")
    return np.array([x[0] * x[1], x[1]])


def test_an_exception_in_fun_propagates_through_the_addresses():
    J = jacsolve.jacobian(raises_beyond_ten, np.array([1.0, 2.0]), method="forward")
    np.testing.assert_allclose(J, [[2.0, 1.0], [0.0, 1.0]], rtol=1e-7)
    with pytest.raises(ValueError, match="beyond ten"):
        jacsolve.jacobian(raises_beyond_ten, np.array([11.0, 2.0]), method="forward")


@jacsolve.jit
def phase(x):
    return np.arctan2(x[1], x[0])


def test_not_complex_safe_verdict_is_kept_with_its_reason():
    with pytest.raises(TypeError, match="arctan2 has no complex version"):
        jacsolve.jacobian(phase, np.array([1.0, 2.0]), method="complex")
    record = prepare(phase)
    assert record.complex_safe is False and "arctan2" in record.complex_reason
    with pytest.raises(TypeError, match="arctan2"):  # the verdict, not a second compile
        jacsolve.jacobian(phase, np.array([1.0, 2.0]), method="complex")
    J = jacsolve.jacobian(phase, np.array([1.0, 2.0]), method="central")
    np.testing.assert_allclose(J, [-2.0 / 5.0, 1.0 / 5.0], rtol=1e-9)


def test_fun_returning_integers_gets_a_clear_error():
    @jacsolve.jit
    def ints(x):
        return np.array([1, 2])
    with pytest.raises(TypeError, match="floating-point"):
        jacsolve.jacobian(ints, np.array([1.0, 2.0]), method="complex")


SCRIPT = '''
import numpy as np, jacsolve
from jacsolve import distributions as D
from numba.core import event

@jacsolve.jit(cache=True)
def f(x):
    out = np.empty(2, dtype=x.dtype)
    out[0] = x[0] * x[0] + x[1] * x[1] - 4.0
    out[1] = x[0] - x[1]
    return out

@jacsolve.jit(cache=True)
def h(x):
    return x[0] * x[1] + x[2]

x = np.array([1.0, 0.5])
f(x), f(x.astype(np.complex128))          # load (or compile) the user's function first
x3 = np.array([1.0, 2.0, 0.5])
h(x3), h(x3.astype(np.complex128))
compiled = []

class Listener(event.Listener):
    def on_start(self, ev):
        pass
    def on_end(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)

with event.install_listener("numba:compile", Listener()):
    jacsolve.jacobian(f, x)
    jacsolve.jacobian(f, x, method="complex")
    jacsolve.solve(f, x)
    jacsolve.propagate(h, x3, u=[0.1, 0.2, 0.05])
    mc = jacsolve.propagate_mc(h, [D.Normal(1.0, 0.1), D.Gamma(4.0, 0.5), D.Rectangular(0, 1)],
                               n=3000, seed=1)
print("DRAWS", float(mc.mean).hex(), float(mc.std).hex())
print("COMPILED", sorted(set(compiled)))
'''


def test_a_rerun_with_a_cached_function_compiles_nothing(tmp_path):
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(SCRIPT))
    # jacsolve's own cache as the test session has it (its kernels are shared by every
    # user function); the script's functions are new, so only they and their adapters
    # are compiled (and cached) by the first run
    env = dict(os.environ)

    def run():
        out = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-2:]
    draws, first = run()
    assert first != "COMPILED []"   # the first run compiles (or loads) jacsolve's kernels
    again, second = run()
    assert second == "COMPILED []"  # the second compiles nothing: adapters are cached too
    assert again == draws           # the samplers loaded from the cache draw the same


THREADS_SCRIPT = '''
import numba
from numba.np.ufunc import parallel
from jacsolve._numba import threads
assert threads.num_threads() == numba.config.NUMBA_NUM_THREADS
assert len(threads.ranges(10_000, 1)) - 1 == min(10_000, 4 * numba.config.NUMBA_NUM_THREADS)
assert not parallel._is_initialized      # asking for the count started no threading layer
numba.set_num_threads(1)
assert threads.num_threads() == 1 and threads.ranges(10_000, 1) == [0, 10_000]
print("OK")
'''


def test_the_thread_count_follows_numba_without_starting_its_threading_layer():
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", THREADS_SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "OK", out.stderr


BATCH_THREADS_SCRIPT = '''
import numpy as np, jacsolve
from numba.np.ufunc import parallel

@jacsolve.jit
def g(x, p):
    return np.array([x[0] * x[0] - p[0], x[1] - p[1]])

P = np.column_stack([np.linspace(1.0, 4.0, 300), np.linspace(-1.0, 1.0, 300)])
r = jacsolve.solve_batch(g, np.ones(2), P)   # 5 tasks of 64 systems, on 2 threads
assert r.success.all()
# max|F| <= tol = 1e-10 and |J^-1| <= 1/2 near the roots: x within 1e-10
assert np.allclose(r.x, np.column_stack([np.sqrt(P[:, 0]), P[:, 1]]), rtol=0.0, atol=1e-10)
assert not parallel._is_initialized          # no prange: numba's threading layer never started
print("OK")
'''


def test_solve_batch_runs_on_the_pool_without_numbas_threading_layer():
    env = dict(os.environ, NUMBA_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", BATCH_THREADS_SCRIPT], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and out.stdout.strip() == "OK", out.stderr
