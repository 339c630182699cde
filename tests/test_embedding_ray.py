"""Embedding on Ray gives the vectors of local embedding (a local one-CPU Ray; skipped without Ray)."""

import numpy as np
import pytest

from qa.embedding import Embedder

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'qa[cluster]'): Ray embedding not tested")


@pytest.fixture(scope="module")
def local_ray():
    try:
        ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    except Exception as e:  # e.g. "node timed out during startup" on an overloaded machine: Ray, not qa
        ray.shutdown()
        pytest.skip(f"a local Ray could not start here ({type(e).__name__}: {str(e)[:120]}): Ray embedding not tested")
    yield
    ray.shutdown()


# fp32 is exact up to summation order; bf16 autocast rounds differently with a one-thread Ray
# actor than with two local threads (5e-4 seen on an AMX machine), so it gets a bf16-sized bound.
@pytest.mark.parametrize("precision, tolerance", [("fp32", 1e-5), ("bf16", 1e-2)])
def test_ray_vectors_equal_local_vectors(local_ray, precision, tolerance):
    from qa.precision import cpu_has_bf16
    from qa.embedding_ray import RayEmbedder

    if precision == "bf16" and not cpu_has_bf16():
        pytest.skip("this CPU has no bf16 in hardware: qa embeds in fp32 here")
    texts = [f"Passage {i}: " + "NATO said the strikes on Libya would continue. " * (1 + i % 7) for i in range(45)]
    texts[3] = "Short."
    local = Embedder(batch_size=8, precision=precision)
    expected = local.embed(texts)
    on_ray = RayEmbedder(local, address="auto", actor_cpus=1).embed(texts, show_progress=True)
    assert on_ray.shape == expected.shape and on_ray.dtype == np.float32
    assert np.abs(on_ray - expected).max() < tolerance
    # Rows come back in the order of the texts, not the order they were batched in.
    assert np.argmax(on_ray @ expected.T, axis=1).tolist() == list(range(len(texts)))


def test_nothing_imports_ray_unless_asked():
    import subprocess
    import sys

    code = "import sys, qa.engine, qa.indexing, qa.cli, qa.embedding; print('ray' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
