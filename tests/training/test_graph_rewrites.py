"""The mirror flip's rewrite gives the same tensor through one Slice."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from training.model.graph_rewrites import mirror_as_slice

SHAPE = [2, 4, 5, 3]  # N, H, W, C


def flip_graph() -> onnx.ModelProto:
    """The flip as tf2onnx writes ``tf.reverse(x, axis=[2])``: transpose, reverse, transpose."""
    lengths = numpy_helper.from_array(np.full(SHAPE[1], SHAPE[2], np.int64), "lengths")
    nodes = [
        helper.make_node("Transpose", ["image"], ["whnc"], perm=[2, 1, 0, 3]),
        helper.make_node(
            "ReverseSequence", ["whnc", "lengths"], ["reversed"], batch_axis=1, time_axis=0
        ),
        helper.make_node("Transpose", ["reversed"], ["flipped"], perm=[2, 1, 0, 3]),
        helper.make_node("Relu", ["flipped"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "flip",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, SHAPE)],
        [lengths],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model: onnx.ModelProto, image: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"image": image})[0]


def test_the_flip_becomes_one_slice_with_the_same_output() -> None:
    image = np.random.default_rng(0).uniform(-1, 1, SHAPE).astype(np.float32)
    model = flip_graph()
    before = run(model, image)
    assert mirror_as_slice(model) == 1
    assert [node.op_type for node in model.graph.node] == ["Slice", "Relu"]
    assert "lengths" not in {constant.name for constant in model.graph.initializer}
    np.testing.assert_array_equal(run(model, image), before)
    np.testing.assert_array_equal(before, np.maximum(image[:, :, ::-1, :], 0))


def test_a_graph_without_the_flip_is_left_alone() -> None:
    model = flip_graph()
    del model.graph.node[:3]
    model.graph.node[0].input[0] = "image"
    assert mirror_as_slice(model) == 0
    assert [node.op_type for node in model.graph.node] == ["Relu"]
