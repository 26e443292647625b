"""The `params` head of a renderer model on its own: the nodes that compute `params` from z and y, without the
renderer that draws them.

A math-art model's graph is a small network (z, y -> parameter vectors) followed by a renderer that draws those
parameters at 256x256. Code that only needs the parameters (fitting a drawing's curve, breeding, SVG) runs the
network alone: the same nodes and weights, so the same numbers, at a fraction of the cost (the renderer is
almost all of a row's time).
"""

from __future__ import annotations

from serving.bundle.onnx_proto import onnx_pb2


def output_subgraph(model_bytes: bytes, output: str) -> bytes:
    """A model (serialized ONNX) holding only the nodes `output` depends on, with the inputs and initializers they
    read; the graph's other outputs and their nodes are left out."""
    pb2 = onnx_pb2()
    model = pb2.ModelProto()
    model.ParseFromString(model_bytes)
    graph = model.graph
    producer = {name: node for node in graph.node for name in node.output}
    needed: set[str] = set()
    keep: set[int] = set()
    stack = [output]
    while stack:  # walk back from the output through every node it depends on
        name = stack.pop()
        if name in needed:
            continue
        needed.add(name)
        node = producer.get(name)
        if node is not None and id(node) not in keep:
            keep.add(id(node))
            stack.extend(n for n in node.input if n)
    nodes = [node for node in graph.node if id(node) in keep]  # graph order is a topological order: kept as is
    if any(attr.HasField("g") or len(attr.graphs) for node in nodes for attr in node.attribute):
        # A subgraph (If, Loop) may read names from outside it that the walk above does not see: keep it all.
        return model_bytes
    inputs = [i for i in graph.input if i.name in needed]
    initializers = [t for t in graph.initializer if t.name in needed]
    outputs = [o for o in graph.output if o.name == output]
    del graph.node[:], graph.input[:], graph.initializer[:], graph.output[:]
    graph.node.extend(nodes)
    graph.input.extend(inputs)
    graph.initializer.extend(initializers)
    graph.output.extend(outputs)
    kept_values = [v for v in graph.value_info if v.name in needed]
    del graph.value_info[:]
    graph.value_info.extend(kept_values)
    return model.SerializeToString()
