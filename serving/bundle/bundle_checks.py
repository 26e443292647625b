"""Static checks on a bundle's model.onnx, before any onnxruntime session exists; every failure is a BundleError.

A bundle is self-contained and standard: no tensor anywhere (initializers, sparse initializers, Constant and other
node attributes, subgraphs) may point at external data (onnxruntime would load a sidecar file no sha256 covers),
no local functions, no operators outside the standard ONNX domains; and its inputs and outputs match the contract
in every dimension: a dynamic batch first, then exactly the sizes config.json states.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from serving.bundle.config import GeneratorConfig
from serving.bundle.onnx_proto import onnx_pb2
from serving.bundle.ort_session import error_line, onnxruntime_errors
from serving.errors import BundleError

STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml"}
# Control flow whose trip count comes from the data: a graph can loop 10^12 times from a small input. None of the
# project's generators needs it; a bundle that has it is refused rather than run under a watchdog.
REFUSED_OPS = {"Loop", "Scan", "If"}
PROBE_SECONDS = 20.0
# Batch sizes the load probe runs: 1 and 2 alone let a graph whose shape logic breaks above 2 rows (a Slice, a
# fixed Reshape) load and fail on the first real render; 3 and 8 catch it at load for a few rows' cost.
PROBE_BATCHES = (1, 2, 3, 8)
PROBE_SEED = 0  # probe latents are random but fixed, so a refusal is the same on every load


def dims(value_info) -> list:
    """[dim_param or dim_value or None] for each dimension of a graph input or output."""
    return [
        d.dim_param or (d.dim_value if d.HasField("dim_value") else None) for d in value_info.type.tensor_type.shape.dim
    ]


def _graphs(graph) -> Iterator:
    yield graph
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("g"):
                yield from _graphs(attr.g)
            for sub in attr.graphs:
                yield from _graphs(sub)


def _tensors(graph) -> Iterator[tuple[str, object]]:
    """(where, TensorProto) for every tensor stored in this graph (not its subgraphs)."""
    for t in graph.initializer:
        yield f"initializer {t.name!r}", t
    for s in graph.sparse_initializer:
        yield f"sparse initializer {s.values.name!r}", s.values
        yield f"sparse initializer {s.values.name!r} (indices)", s.indices
    for node in graph.node:
        for attr in node.attribute:
            where = f"node {node.name or node.op_type!r} attribute {attr.name!r}"
            if attr.HasField("t"):
                yield where, attr.t
            for t in attr.tensors:
                yield where, t
            if attr.HasField("sparse_tensor"):
                yield where, attr.sparse_tensor.values
                yield where, attr.sparse_tensor.indices
            for s in attr.sparse_tensors:
                yield where, s.values
                yield where, s.indices


def _load_checked(model_path: Path, data: bytes | None):
    """The ModelProto after the static checks every bundle file passes (see the module docstring)."""
    pb2 = onnx_pb2()  # outside the try: a broken install is not the bundle's fault
    model = pb2.ModelProto()
    try:
        model.ParseFromString(data if data is not None else Path(model_path).read_bytes())
    except OSError as exc:
        raise BundleError(f"{model_path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    except Exception as exc:  # untrusted bytes: the protobuf parser may raise anything; none of it is our bug
        raise BundleError(f"{model_path} is not a readable ONNX model ({type(exc).__name__})") from None

    if len(model.functions):
        raise BundleError(
            f"{model_path} defines local functions ({model.functions[0].name!r}); bundles may use "
            "standard operators only"
        )
    for opset in model.opset_import:
        if opset.domain not in STANDARD_DOMAINS:
            raise BundleError(f"{model_path} imports non-standard operator domain {opset.domain!r}")
    external = pb2.TensorProto.EXTERNAL
    for graph in _graphs(model.graph):
        for where, tensor in _tensors(graph):
            if tensor.data_location == external or len(tensor.external_data):
                raise BundleError(f"{model_path} refers to external data ({where}); bundles must be self-contained")
        for node in graph.node:
            if node.domain not in STANDARD_DOMAINS:
                raise BundleError(
                    f"{model_path} uses operator {node.op_type!r} from non-standard domain {node.domain!r}"
                )
            if node.op_type in REFUSED_OPS:
                raise BundleError(
                    f"{model_path} uses {node.op_type}, control flow whose cost its input decides; bundles may not"
                )
    return model


def _check_contract(
    model, what: str, inputs_want: list[str], outputs_want: list[str], want: dict, ordered: bool = True
) -> None:
    """Inputs and outputs by name (outputs in order unless not `ordered`), float32, a dynamic batch first and then
    exactly the sizes in `want`."""
    float32 = onnx_pb2().TensorProto.FLOAT
    initializers = {t.name for t in model.graph.initializer}
    inputs = {v.name: v for v in model.graph.input if v.name not in initializers}
    outputs = {v.name: v for v in model.graph.output}
    if sorted(inputs) != sorted(inputs_want):
        raise BundleError(f"{what} inputs {sorted(inputs)} do not match the contract {list(inputs_want)}")
    if (list(outputs) if ordered else sorted(outputs)) != (list(outputs_want) if ordered else sorted(outputs_want)):
        raise BundleError(f"{what} outputs {list(outputs)} do not match the contract {list(outputs_want)}")
    for kind, values in (("input", inputs), ("output", outputs)):
        for name, value in values.items():
            shape = dims(value)
            if value.type.tensor_type.elem_type != float32:
                raise BundleError(f"{what} {kind} {name!r} must be float32")
            if shape[1:] != want[name] or not shape:
                raise BundleError(
                    f"{what} {kind} {name!r} has shape {shape}, expected [batch, {', '.join(map(str, want[name]))}]"
                )
            if isinstance(shape[0], int):
                raise BundleError(
                    f"{what} {kind} {name!r} has a fixed batch of {shape[0]}; the contract needs a "
                    "dynamic batch (export with a named batch dimension)"
                )


def check_model(model_path: Path, config: GeneratorConfig, data: bytes | None = None) -> None:
    """Static safety and contract checks on model.onnx (or on `data`, its bytes as already read and hashed);
    raises BundleError naming the file and what is wrong."""
    model = _load_checked(model_path, data)
    want = {
        "z": [config.latent_dim],
        "y": [config.num_classes],
        "images": [*config.image_size, config.channels],
        "params": [len(config.param_names)],
    }
    _check_contract(model, "model", list(config.inputs), list(config.outputs), want)


def check_encoder(encoder_path: Path, config: GeneratorConfig, data: bytes) -> None:
    """The same static checks on encoder.onnx, and its contract: `image` in the generator's own output layout,
    out `z` [latent_dim] (and `logits` [num_classes] for a conditional model)."""
    model = _load_checked(encoder_path, data)
    want = {"image": [*config.image_size, config.channels], "z": [config.latent_dim], "logits": [config.num_classes]}
    _check_contract(model, "encoder", ["image"], list(config.encoder["outputs"]), want, ordered=False)


def probe(session, config: GeneratorConfig, what: Path, seconds: float = PROBE_SECONDS) -> None:
    """Tiny runs at load, batches PROBE_BATCHES, each under a time limit: the real outputs must be what the
    contract says (a model can declare [b, 28, 28, 1] and return anything: another size, NaN, values past 1), and
    each run must end in time (a graph that allocates or computes far beyond its size is stopped: onnxruntime's
    RunOptions.terminate). Latents are random, not zero, so a graph that is only right at the origin shows it."""
    import numpy as np

    rng = np.random.default_rng(PROBE_SEED)
    want = {"images": (*config.image_size, config.channels), "params": (len(config.param_names),)}
    _proved(session, list(config.outputs), want, lambda batch: probe_feed(config, batch, rng), seconds, what)


def probe_feed(config: GeneratorConfig, batch: int, rng) -> dict:
    """z [batch, latent_dim] standard normal, and for a conditional model y [batch, num_classes]: one-hot rows
    (every class in turn) alternating with random soft mixes, the two kinds of y that renders send."""
    import numpy as np

    feed = {"z": rng.standard_normal((batch, config.latent_dim)).astype(np.float32)}
    if config.num_classes:
        y = rng.dirichlet(np.ones(config.num_classes), batch).astype(np.float32)
        y[0::2] = np.eye(config.num_classes, dtype=np.float32)[np.arange(0, batch, 2) % config.num_classes]
        feed["y"] = y
    return feed


def probe_encoder(session, config: GeneratorConfig, what: Path, seconds: float = PROBE_SECONDS) -> None:
    """The same proof for encoder.onnx: random pictures in [0, 1] give finite z (and logits) of the declared
    sizes at every probe batch."""
    import numpy as np

    rng = np.random.default_rng(PROBE_SEED)
    want = {"z": (config.latent_dim,), "logits": (config.num_classes,)}
    shape = (*config.image_size, config.channels)
    _proved(
        session,
        list(config.encoder["outputs"]),
        want,
        lambda batch: {"image": rng.random((batch, *shape), dtype=np.float32)},
        seconds,
        what,
    )


def _proved(session, names: list[str], want: dict, feed, seconds: float, what: Path) -> None:
    """Run `feed(batch)` for each of PROBE_BATCHES under the time limit; every output float32 [batch, *want[name]],
    finite, and images in [0, 1]."""
    for batch in PROBE_BATCHES:
        for name, value in zip(names, run_bounded(session, names, feed(batch), seconds, what)):
            check_output(name, value, (batch, *want[name]), what)
            check_values(name, value, batch, what)


def check_output(name: str, value: Any, shape: tuple[int, ...], what: Path) -> None:
    """An output's dtype and shape against the contract (cheap: run on every call, not only at load);
    BundleError in one line, before numpy could broadcast a wrong shape into the caller's array."""
    import numpy as np

    if not isinstance(value, np.ndarray) or value.dtype != np.float32 or value.shape != shape:
        got = f"{value.dtype} {list(value.shape)}" if isinstance(value, np.ndarray) else type(value).__name__
        raise BundleError(
            f"{what}: output {name!r} is {got} for a batch of {shape[0]}; the contract says float32 {list(shape)}"
        )


def check_values(name: str, value, batch: int, what: Path) -> None:
    """Finite values, and images in [0, 1] (docs/format.md): what every frame written from them assumes."""
    import numpy as np

    if not np.all(np.isfinite(value)):
        raise BundleError(f"{what}: output {name!r} holds NaN or Inf for a batch of {batch} of probe latents")
    if name == "images" and value.size and not (value.min() >= 0.0 and value.max() <= 1.0):
        raise BundleError(
            f"{what}: output 'images' runs {value.min():g}..{value.max():g} for a batch of {batch} of probe "
            "latents; the contract says values in [0, 1]"
        )


def run_bounded(session, names: list[str], feed: dict, seconds: float, what: Path) -> list:
    """session.run, stopped after `seconds` (onnxruntime's RunOptions.terminate); BundleError with one line."""
    import threading

    import onnxruntime as ort

    options = ort.RunOptions()
    timer = threading.Timer(seconds, lambda: setattr(options, "terminate", True))
    timer.start()
    try:
        return session.run(names, feed, options)
    except onnxruntime_errors() as exc:
        reason = "did not finish in time" if options.terminate else error_line(exc)[:200]
        raise BundleError(f"{what}: onnxruntime could not run it: {reason}") from None
    finally:
        timer.cancel()
