"""Passes over an exported ONNX graph: deterministic scatter-add, canonical names for byte-identical exports, and
portable forms for runtimes other than onnxruntime."""

from __future__ import annotations

from onnx import helper


def deterministic_scatter(model_proto):
    """Replace ScatterND(reduction=add) by Expand + ScatterElements(axis=0, reduction=add), in place.

    onnxruntime's CPU ScatterND runs its updates on several threads and loses some of the additions that land on
    the same row (microsoft/onnxruntime#18048): the math-art splat then drew different pixels from run to run.
    ScatterElements sums them correctly. The splat's updates are [points, channels] with indices [points, 1], so
    the indices are broadcast across the channels to index every element.
    """
    graph = model_proto.graph
    rewritten = []
    for node in graph.node:
        reduction = next((a.s.decode() for a in node.attribute if a.name == "reduction"), "none")
        if node.op_type != "ScatterND" or reduction != "add":
            rewritten.append(node)
            continue
        data, indices, updates = node.input
        shape, expanded = f"{node.name}_shape", f"{node.name}_indices"
        rewritten += [
            helper.make_node("Shape", [updates], [shape], name=f"{node.name}_Shape"),
            helper.make_node("Expand", [indices, shape], [expanded], name=f"{node.name}_Expand"),
            helper.make_node(
                "ScatterElements", [data, expanded, updates], list(node.output), name=node.name, axis=0, reduction="add"
            ),
        ]
    del graph.node[:]
    graph.node.extend(rewritten)
    return model_proto


def _stable_order(graph) -> None:
    """Re-order the nodes topologically by content, not by tf2onnx's names: independent branches (a class input
    feeding two Dense layers) come out in the order their names happened to sort, which varied between exports.
    Among the nodes ready at each point, the one whose (op type, inputs) key is smallest goes first; an input's
    key is a graph input's name, an initializer's content hash, or the position of the node that made it."""
    import heapq

    init_key = {t.name: _content_key(t) for t in graph.initializer}

    made_by = {out: i for i, node in enumerate(graph.node) for out in node.output if out}
    waiting = [sum(1 for x in node.input if x in made_by) for node in graph.node]  # producers not yet placed
    users: dict[int, list[int]] = {}
    for i, node in enumerate(graph.node):
        for x in node.input:
            if x in made_by:
                users.setdefault(made_by[x], []).append(i)
    placed: dict[str, str] = {}  # tensor -> its key once its producer is placed

    def key(i: int) -> tuple:
        node = graph.node[i]
        inputs = tuple(placed.get(x) or init_key.get(x) or x for x in node.input)
        return (node.op_type, inputs, tuple(a.SerializeToString() for a in node.attribute), i)

    ready = [key(i) for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        best = heapq.heappop(ready)[-1]
        order.append(best)
        for j, out in enumerate(graph.node[best].output):
            placed[out] = f"#{len(order) - 1}:{j}"
        for user in users.get(best, []):
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, key(user))
    if len(order) != len(graph.node):  # a cycle cannot happen in ONNX; keep the nodes as they were
        return
    nodes = [graph.node[i] for i in order]
    del graph.node[:]
    graph.node.extend(nodes)


def _content_key(tensor) -> str:
    """A constant's identity by content alone: the sha256 of its serialization without its name (cutting the name's
    bytes out of the serialization is not enough: the field's length prefix stays, and tf2onnx's names vary)."""
    import hashlib

    from onnx import TensorProto

    copy = TensorProto()
    copy.CopyFrom(tensor)
    copy.ClearField("name")
    return hashlib.sha256(copy.SerializeToString()).hexdigest()


def canonical_names(model_proto):
    """Name every internal tensor, node and dynamic size by its position, so the same weights give the same bytes.

    tf2onnx numbers the names it makes (`new_shape__118`) from a counter whose value differs from run to run,
    which made two exports of one checkpoint differ in sha256. Graph inputs and outputs keep their contract
    names; nodes become `NNN_OpType`, their outputs `NNN_OpType:j`, constants `const_K` in order of first use.
    """
    graph = model_proto.graph
    _stable_order(graph)
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    initializers = {t.name for t in graph.initializer}
    names: dict[str, str] = {}
    consts: list[str] = []  # initializers in order of first use
    for i, node in enumerate(graph.node):
        node.name = f"{i:03d}_{node.op_type}"
        for x in node.input:
            if x in initializers and x not in names:
                names[x] = f"const_{len(consts)}"
                consts.append(x)
        for j, x in enumerate(node.output):
            if x and x not in keep:
                names[x] = f"{node.name}:{j}"
        node.input[:] = [names.get(x, x) for x in node.input]
        node.output[:] = [names.get(x, x) for x in node.output]
    rank = {name: k for k, name in enumerate(consts)}
    ordered = sorted(graph.initializer, key=lambda t: (rank.get(t.name, len(rank)), t.name))  # unused ones last
    for tensor in ordered:
        tensor.name = names.get(tensor.name, tensor.name)
    del graph.initializer[:]
    graph.initializer.extend(ordered)
    for info in graph.value_info:
        info.name = names.get(info.name, info.name)
    infos = sorted(graph.value_info, key=lambda v: v.name)
    del graph.value_info[:]
    graph.value_info.extend(infos)
    # Dynamic sizes (`unk__267`) and the doc string (`__inference_serve_7608`) carry the same counters.
    # Every dynamic leading dimension here is the batch, so it is named as one.
    dims: dict[str, str] = {}
    for info in [*graph.input, *graph.output, *graph.value_info]:
        for k, dim in enumerate(info.type.tensor_type.shape.dim):
            if dim.dim_param:
                dim.dim_param = dims.setdefault(dim.dim_param, "batch" if k == 0 else f"dim_{len(dims)}")
    graph.doc_string = (
        "ganimate generator: images = clip((G(z[, y]) + 1) / 2, 0, 1)"
        if len(graph.output) == 1
        else "ganimate parameter generator: params = ranges(G(z, y)); images = render(params, y)"
    )
    return model_proto


def portable(model_proto):
    """Make a graph readable by runtimes beyond onnxruntime, in place, without changing one output bit.

    - An Unsqueeze of several axes becomes a chain of one-axis Unsqueezes: OpenCV's DNN importer (4.x, and 5's
      classic engine) refuses the multi-axis form ("Multidimensional unsqueeze").
    - Opset imports that no node uses are dropped: tf2onnx always declares `ai.onnx.ml`, which a runtime without
      the ML operators then refuses or warns about, for nothing.
    """
    import numpy as np
    from onnx import TensorProto, numpy_helper

    graph = model_proto.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes = []
    for node in graph.node:
        axes = consts.get(node.input[1]) if node.op_type == "Unsqueeze" and len(node.input) == 2 else None
        if axes is None or axes.size < 2:
            nodes.append(node)
            continue
        if (np.asarray(axes) < 0).any():  # they count from the end of the output: left as they are
            nodes.append(node)
            continue
        current = node.input[0]
        for k, axis in enumerate(sorted(int(a) for a in np.asarray(axes).ravel())):  # ascending: each stays valid
            axis_name = f"{node.name}_axis{axis}"
            graph.initializer.append(helper.make_tensor(axis_name, TensorProto.INT64, [1], [axis]))
            out = node.output[0] if k == axes.size - 1 else f"{axis_name}:0"
            nodes.append(helper.make_node("Unsqueeze", [current, axis_name], [out], name=axis_name))
            current = out
    del graph.node[:]
    graph.node.extend(nodes)
    read = {x for node in graph.node for x in node.input} | {v.name for v in graph.output}
    live = [t for t in graph.initializer if t.name in read]  # the split's old axes lists, now read by nothing
    del graph.initializer[:]
    graph.initializer.extend(live)
    used = {node.domain or "" for node in graph.node} | {""}
    kept = [o for o in model_proto.opset_import if (o.domain or "") in used]
    del model_proto.opset_import[:]
    model_proto.opset_import.extend(kept)
    return model_proto


def contract_names(model_proto, wanted: list[str]):
    """Rename the graph's outputs to `wanted`, in place: tf2onnx names them after graph tensors, in the order of
    the sorted dict keys of the traced function's result."""
    renames = {out.name: name for out, name in zip(model_proto.graph.output, wanted) if out.name != name}
    for node in model_proto.graph.node:
        node.output[:] = [renames.get(o, o) for o in node.output]
        node.input[:] = [renames.get(i, i) for i in node.input]
    for out in model_proto.graph.output:
        out.name = renames.get(out.name, out.name)
    return model_proto
