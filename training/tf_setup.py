"""Import and set up TensorFlow once: without its start-up chatter, and without the failing remapper pass.

TensorFlow 2.21 prints two lines per shared library at import ("All log messages before absl::InitializeLog()"
and the oneDNN notice) from C++, before TF_CPP_MIN_LOG_LEVEL is read, so no setting hides them. The CLIs call
`import_tensorflow()` once, before anything else imports TensorFlow: stderr is captured at the file-descriptor
level during the import and replayed without those known lines, so a real import error is never hidden.

Grappler's remapper fails on the GAN train step ("remapper failed: ... fanout ... LeakyReluGrad", printed at
every trace) and so fuses nothing there; turning it off removes the error line and costs nothing
(`python -m bench.train_speed` measures the step either way).
"""

from __future__ import annotations

import os
import sys
import tempfile
from types import ModuleType

NOISE = ("All log messages before absl::InitializeLog() is called", "oneDNN custom operations are on")


def import_tensorflow() -> ModuleType:
    """TensorFlow, imported quietly if not imported yet, and set up (again: setting up twice is harmless)."""
    if "tensorflow" not in sys.modules:
        _quiet_import()
    tf = sys.modules["tensorflow"]
    tf.config.optimizer.set_experimental_options({"remapping": False})
    return tf


def _quiet_import() -> None:
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not any(noise in line for noise in NOISE):
                    sys.stderr.write(line)


def configure_threads(microbatches: int) -> bool:
    """With microbatches on a CPU, run each operation on one thread and as many operations at once as there are
    cores: the microbatches' subgraphs then go side by side instead of every small convolution being split over
    the cores (bench.train_speed measures both ways).
    Must run before TensorFlow runs anything; returns False when it is too late (threads already set up)."""
    tf = import_tensorflow()
    if microbatches <= 1 or tf.config.list_physical_devices("GPU"):
        return False
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(os.cpu_count() or 1)
    except RuntimeError:  # TensorFlow already runs (a test, the studio's second run): keep its threads
        return False
    return True
