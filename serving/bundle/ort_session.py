"""onnxruntime sessions as every bundle file gets them: one capped memory arena per process, one thread per
session, and onnxruntime's failures said in one line."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from serving.errors import BundleError

if TYPE_CHECKING:
    import onnxruntime as ort


def onnxruntime_errors() -> tuple[type[BaseException], ...]:
    """The exception types onnxruntime raises for a model it cannot load or run (none derives from a builtin)."""
    import onnxruntime.capi.onnxruntime_pybind11_state as state

    names = (
        "Fail",
        "InvalidArgument",
        "NoSuchFile",
        "NoModel",
        "EngineError",
        "RuntimeException",
        "InvalidProtobuf",
        "ModelLoaded",
        "NotImplemented",
        "InvalidGraph",
        "EPFail",
    )
    return tuple(getattr(state, n) for n in names if hasattr(state, n)) + (RuntimeError, MemoryError)


# Every session of this process allocates from one onnxruntime arena of at most this many MB
# (GANIMATE_ORT_MEMORY_MB): a graph that asks for more (a tensor of billions of elements, from a few bytes of
# ONNX) fails that run in milliseconds with one line, instead of swapping or taking the machine's memory.
ORT_MEMORY_MB = 4096
_ARENA_LOCK = threading.Lock()
_arena_mb: int | None = None


def memory_cap_mb() -> int:
    """The shared arena's cap, registered with onnxruntime once per process (the first session fixes it)."""
    global _arena_mb
    import onnxruntime as ort

    from serving import inputs as check

    with _ARENA_LOCK:
        if _arena_mb is None:
            mb = check.whole(
                "GANIMATE_ORT_MEMORY_MB",
                os.environ.get("GANIMATE_ORT_MEMORY_MB", "").strip() or ORT_MEMORY_MB,
                64,
                1 << 20,
            )
            info = ort.OrtMemoryInfo("Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT)
            ort.create_and_register_allocator(info, ort.OrtArenaCfg(mb << 20, -1, -1, -1))
            _arena_mb = mb
        return _arena_mb


def make_session(model_path: Path, data: bytes) -> ort.InferenceSession:
    """A session of `model_path`'s verified bytes: one thread (callers parallelise over rows), no spinning, the
    capped arena; BundleError in one line if onnxruntime refuses the model."""
    import onnxruntime as ort

    memory_cap_mb()
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.use_env_allocators", "1")  # the capped arena (memory_cap_mb)
    opts.intra_op_num_threads = 1  # parallel across slices of rows instead (Generator._run)
    opts.inter_op_num_threads = 1
    # Busy-waiting threads burn CPU between requests on a shared Space; turn spinning off.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
    except onnxruntime_errors() as exc:
        raise BundleError(f"{model_path}: onnxruntime cannot load it: {error_line(exc)}") from None


def error_line(exc: BaseException) -> str:
    """What went wrong in onnxruntime, in one line (the capped arena's refusal said plainly)."""
    text = str(exc).strip()
    asked = re.search(r"smaller than requested bytes of (\d+)", text)
    if asked:
        return (
            f"it asks for {int(asked.group(1)) / 2**20:,.0f} MB at once, more than the {memory_cap_mb():,} MB "
            "onnxruntime may use here (GANIMATE_ORT_MEMORY_MB)"
        )
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
