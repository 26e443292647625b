"""numpy's BLAS on one thread for the Space's process: the Space's renders split their own work over the cores.

One job, here, because the Space's start (serving.space.main) and every SpaceApp (serving.space.handlers) call it.
"""

from __future__ import annotations

import os

# The variables numpy's BLAS libraries (OpenBLAS, MKL, BLIS through OpenMP) read when they load.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def one_blas_thread() -> None:
    """numpy's BLAS on one thread for the Space's process, unless the environment already says otherwise. Each
    render splits its own work over the cores (serving.bundle.generator, serving.rendering.render); BLAS threads
    beside them only spin, which doubled a request's CPU time on 2 cores (docs/space.md). The libraries' own
    variables take effect when numpy loads; where numpy is loaded already, threadpoolctl's public limit does it."""
    import sys

    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    if "numpy" in sys.modules and all(os.environ[name] == "1" for name in BLAS_THREAD_VARIABLES):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
