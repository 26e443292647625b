"""A shipped model.onnx as a differentiable TensorFlow function, so an encoder can be trained against the frozen
generator people actually download (the Keras weights of an old bundle need not exist any more).

    g = OnnxFunction(Path("exported/mnist-cdcgan/model.onnx"), outputs=("images",))
    images = g(z=z, y=y)["images"]          # tf.Tensor, gradients flow to z and y

Only the operators the project's generators and judges are made of are supported (a dense and convolutional
vocabulary, plus the elementwise ops of their output mappings); anything else is a TrainingError naming it.
`outputs` picks what to compute, and only the nodes those outputs need are run: the math-art model's `params`
head is a small MLP, while its renderer (which nobody differentiates) is 2,000 nodes. Tensors keep ONNX's layout
(NCHW for convolutions), and convolutions go through NHWC, the layout TensorFlow runs on a CPU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import onnx
import tensorflow as tf
from onnx import helper, numpy_helper

from serving.errors import TrainingError


def _attrs(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _pads(pads: list[int]) -> list[list[int]]:
    """ONNX [top, left, bottom, right] -> TensorFlow explicit NHWC padding."""
    top, left, bottom, right = pads
    return [[0, 0], [top, bottom], [left, right], [0, 0]]


def _plain_padding(a: dict) -> None:
    auto = a.get("auto_pad", b"NOTSET")
    if (auto.decode() if isinstance(auto, bytes) else auto) != "NOTSET" or "output_shape" in a:
        raise TrainingError("convolutions with auto_pad or output_shape are not supported")


def _conv(x, w, b, a) -> tf.Tensor:
    _plain_padding(a)
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise TrainingError("Conv with groups or dilations is not supported")
    nhwc = tf.transpose(x, [0, 2, 3, 1])
    out = tf.nn.conv2d(
        nhwc,
        tf.transpose(w, [2, 3, 1, 0]),
        strides=[1, *a.get("strides", [1, 1]), 1],
        padding=_pads(a.get("pads", [0, 0, 0, 0])),
    )
    if b is not None:
        out = out + b
    return tf.transpose(out, [0, 3, 1, 2])


def _conv_transpose(x, w, b, a) -> tf.Tensor:
    _plain_padding(a)
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])) or a.get("output_padding"):
        raise TrainingError("ConvTranspose with groups, dilations or output_padding is not supported")
    kh, kw = int(w.shape[2]), int(w.shape[3])
    sh, sw = a.get("strides", [1, 1])
    top, left, bottom, right = a.get("pads", [0, 0, 0, 0])
    nhwc = tf.transpose(x, [0, 2, 3, 1])
    n, h, wd = tf.shape(nhwc)[0], int(nhwc.shape[1]), int(nhwc.shape[2])
    out_h, out_w = (h - 1) * sh + kh - top - bottom, (wd - 1) * sw + kw - left - right
    out = tf.nn.conv2d_transpose(
        nhwc,
        tf.transpose(w, [2, 3, 1, 0]),
        output_shape=tf.stack([n, out_h, out_w, w.shape[1]]),
        strides=[1, sh, sw, 1],
        padding=_pads([top, left, bottom, right]),
    )
    if b is not None:
        out = out + b
    return tf.transpose(out, [0, 3, 1, 2])


def _max_pool(x, a) -> tf.Tensor:
    if any(a.get("pads", [0, 0, 0, 0])) or a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise TrainingError("MaxPool with pads, ceil_mode or dilations is not supported")
    kernel, strides = a["kernel_shape"], a.get("strides", [1, 1])
    out = tf.nn.max_pool2d(tf.transpose(x, [0, 2, 3, 1]), kernel, strides, "VALID")
    return tf.transpose(out, [0, 3, 1, 2])


def _reshape(x, shape) -> tf.Tensor:
    shape = [int(v) for v in np.asarray(shape)]
    # ONNX 0 copies the input's dimension (the batch, in these graphs); -1 is inferred as in TensorFlow.
    dims = [tf.shape(x)[i] if v == 0 else v for i, v in enumerate(shape)]
    return tf.reshape(x, tf.stack(dims) if any(isinstance(d, tf.Tensor) for d in dims) else dims)


def _gemm(a_, b_, c, at) -> tf.Tensor:
    out = tf.matmul(a_, b_, transpose_a=bool(at.get("transA", 0)), transpose_b=bool(at.get("transB", 0)))
    out = out * at.get("alpha", 1.0)
    return out + at.get("beta", 1.0) * c if c is not None else out


OPS: dict[str, Callable] = {
    "MatMul": lambda i, a: tf.matmul(i[0], i[1]),
    "Gemm": lambda i, a: _gemm(i[0], i[1], i[2] if len(i) > 2 else None, a),
    "Add": lambda i, a: i[0] + i[1],
    "Sub": lambda i, a: i[0] - i[1],
    "Mul": lambda i, a: i[0] * i[1],
    "Div": lambda i, a: i[0] / i[1],
    "Min": lambda i, a: tf.minimum(i[0], i[1]),
    "Max": lambda i, a: tf.maximum(i[0], i[1]),
    "Relu": lambda i, a: tf.nn.relu(i[0]),
    "LeakyRelu": lambda i, a: tf.nn.leaky_relu(i[0], alpha=a.get("alpha", 0.01)),
    "Tanh": lambda i, a: tf.tanh(i[0]),
    "Sigmoid": lambda i, a: tf.sigmoid(i[0]),
    "Identity": lambda i, a: tf.identity(i[0]),
    "Concat": lambda i, a: tf.concat(i, axis=a["axis"]),
    "Transpose": lambda i, a: tf.transpose(i[0], a["perm"]),
    "Reshape": lambda i, a: _reshape(i[0], i[1]),
    "Flatten": lambda i, a: tf.reshape(i[0], [-1, int(np.prod(i[0].shape[a.get("axis", 1) :]))]),
    "Conv": lambda i, a: _conv(i[0], i[1], i[2] if len(i) > 2 else None, a),
    "ConvTranspose": lambda i, a: _conv_transpose(i[0], i[1], i[2] if len(i) > 2 else None, a),
    "Softmax": lambda i, a: tf.nn.softmax(i[0], axis=a.get("axis", -1)),
    "MaxPool": lambda i, a: _max_pool(i[0], a),
    "GlobalAveragePool": lambda i, a: tf.reduce_mean(i[0], axis=[2, 3], keepdims=True),
    "Squeeze": lambda i, a: tf.squeeze(i[0], axis=[int(v) for v in np.asarray(i[1])] if len(i) > 1 else a.get("axes")),
}


class OnnxFunction:
    """The nodes of an ONNX graph that `outputs` need, as a TensorFlow computation over constant weights."""

    def __init__(self, model_path: Path, outputs: Iterable[str] | None = None) -> None:
        model = onnx.load(str(model_path))
        graph = model.graph
        self.outputs = tuple(outputs) if outputs is not None else tuple(o.name for o in graph.output)
        self.constants = {t.name: tf.constant(numpy_helper.to_array(t)) for t in graph.initializer}
        for node in graph.node:  # Constant nodes are weights too
            if node.op_type == "Constant":
                self.constants[node.output[0]] = tf.constant(numpy_helper.to_array(_attrs(node)["value"]))
        producer = {out: node for node in graph.node for out in node.output}
        needed, stack = set(), list(self.outputs)
        while stack:
            name = stack.pop()
            if name in needed or name not in producer:
                continue
            needed.add(name)
            stack.extend(producer[name].input)
        self.nodes = [n for n in graph.node if n.op_type != "Constant" and any(o in needed for o in n.output)]
        unknown = sorted({n.op_type for n in self.nodes} - set(OPS))
        if unknown:
            raise TrainingError(f"{model_path}: operators {', '.join(unknown)} cannot be run in TensorFlow here")
        feeds = (
            {i for n in self.nodes for i in n.input} - set(self.constants) - {o for n in self.nodes for o in n.output}
        )
        self.inputs = tuple(i.name for i in graph.input if i.name in feeds)

    def __call__(self, **feeds: tf.Tensor) -> dict[str, tf.Tensor]:
        missing = [name for name in self.inputs if name not in feeds]
        if missing:
            raise TrainingError(f"missing input(s) {', '.join(missing)}")
        values: dict[str, tf.Tensor] = {
            **self.constants,
            **{k: tf.convert_to_tensor(v, tf.float32) for k, v in feeds.items()},
        }
        for node in self.nodes:
            result = OPS[node.op_type]([values[i] if i else None for i in node.input], _attrs(node))
            values[node.output[0]] = result
        return {name: values[name] for name in self.outputs}
