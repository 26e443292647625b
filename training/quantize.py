"""Optional int8 copy of an exported generator (onnxruntime dynamic quantization), kept only with its figures.

Dynamic quantization stores MatMul/Gemm/Conv weights as int8 and quantizes activations on the fly. The copy is
measured against the float32 model on the export's parity seeds (max |diff| in [0, 1] image units) and on speed
(batch 64, median of repeated runs, same thread count); it is kept only when its parity is within tolerance.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

QUANT_TOLERANCE = 0.1  # max |diff| in [0, 1] units; beyond this the int8 copy is visibly a different picture
QUANT_FILE = "model.int8.onnx"


@dataclass(frozen=True)
class QuantReport:
    file: str
    sha256: str
    bytes: int
    fp32_bytes: int
    parity_max_abs_diff: float
    parity_mean_abs_diff: float
    fp32_ms_batch64: float
    int8_ms_batch64: float

    def to_dict(self) -> dict:
        return asdict(self)


def _median_ms(session, feed: dict, repeats: int = 15) -> float:
    session.run(["images"], feed)  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        session.run(["images"], feed)
        times.append(time.perf_counter() - started)
    return float(np.median(times) * 1000)


def quantize_int8(model_path: Path, feed: dict, threads: int = 2) -> QuantReport | str:
    """Write `model.int8.onnx` beside `model_path`; returns its report, or why it was not kept (and removes it)."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from serving.bundle.generator import sha256_file

    out = model_path.with_name(QUANT_FILE)
    quantize_dynamic(str(model_path), str(out), weight_type=QuantType.QInt8)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.log_severity_level = 3
    fp32 = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
    int8 = ort.InferenceSession(str(out), opts, providers=["CPUExecutionProvider"])
    diff = np.abs(fp32.run(["images"], feed)[0] - int8.run(["images"], feed)[0])
    if not float(diff.max()) <= QUANT_TOLERANCE:
        out.unlink()
        return f"int8 copy not kept: max |diff| {float(diff.max()):.3f} > {QUANT_TOLERANCE}"
    return QuantReport(
        file=QUANT_FILE,
        sha256=sha256_file(out),
        bytes=out.stat().st_size,
        fp32_bytes=model_path.stat().st_size,
        parity_max_abs_diff=float(diff.max()),
        parity_mean_abs_diff=float(diff.mean()),
        fp32_ms_batch64=_median_ms(fp32, feed),
        int8_ms_batch64=_median_ms(int8, feed),
    )
