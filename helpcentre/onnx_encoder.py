"""The encoder's six transformer layers as an ONNX Runtime graph, for one sentence at a time.

A question is about a dozen tokens: numpy's BLAS spends most of a query's ~10 ms on
twelve-row products and per-operation overhead, while ONNX Runtime runs the same graph in
under 3 ms on one thread with the same outputs (to about 1e-7). The graph is built in
memory from the weights :class:`~helpcentre.embeddings.SentenceEncoder` already
holds, so nothing new is downloaded or stored; the weight matrices are lent to ONNX Runtime as
external initializers rather than copied into the graph (a copy cost about 230 MB per
process). Without ``onnxruntime`` and ``onnx`` the numpy forward pass answers instead.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from helpcentre.embeddings import SentenceEncoder

INPUT_NAME = "hidden"  # the embedding layer's output, (tokens, 384): a gather numpy does cheaply
OUTPUT_NAME = "pooled"  # the mean over tokens, not yet normalised


def onnx_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


class _GraphBuilder:
    def __init__(self) -> None:
        self.initializers: list[Any] = []
        self.nodes: list[Any] = []
        self.lent: dict[str, np.ndarray] = {}  # weight matrices ONNX Runtime reads in place

    def constant(self, name: str, value: np.ndarray) -> str:
        from onnx import TensorProto, numpy_helper

        value = np.asarray(value)
        if value.ndim < 2:
            self.initializers.append(numpy_helper.from_array(value, name))
            return name
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=value.shape)
        tensor.data_location = TensorProto.EXTERNAL
        for key, text in (("location", "lent"), ("offset", "0"), ("length", str(value.nbytes))):
            tensor.external_data.add(key=key, value=text)
        self.initializers.append(tensor)
        self.lent[name] = np.ascontiguousarray(value, dtype=np.float32)
        return name

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        from onnx import helper

        output = f"{op}_{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        product = self.node("MatMul", [x, self.constant(f"{name}.weight", weight)])
        return self.node("Add", [product, self.constant(f"{name}.bias", bias)])

    def layer_norm(self, x: str, norm: tuple[np.ndarray, np.ndarray], name: str, eps: float) -> str:
        weight, bias = self.constant(f"{name}.weight", norm[0]), self.constant(f"{name}.bias", norm[1])
        return self.node("LayerNormalization", [x, weight, bias], axis=-1, epsilon=eps)


def _layers_add(graph: _GraphBuilder, encoder: SentenceEncoder) -> str:
    heads, head_size = encoder.heads, encoder.dimension // encoder.heads
    qkv_shape = graph.constant("qkv_shape", np.array([-1, 3, heads, head_size], np.int64))
    context_shape = graph.constant("context_shape", np.array([-1, encoder.dimension], np.int64))
    scale = graph.constant("scale", np.array(1.0 / np.sqrt(head_size), np.float32))
    half, one = graph.constant("half", np.array(0.5, np.float32)), graph.constant("one", np.array(1.0, np.float32))
    inverse_sqrt2 = graph.constant("inverse_sqrt2", np.array(0.7071067811865476, np.float32))
    first = graph.constant("first_axis", np.array([0], np.int64))
    x = INPUT_NAME
    for number, layer in enumerate(encoder.layers):
        name = f"layer{number}"
        qkv = graph.linear(x, layer.qkv_weight, layer.qkv_bias, f"{name}.qkv")
        # (tokens, 3, heads, size) → (3, heads, tokens, size); one sentence, so no padding mask.
        parts = graph.node("Transpose", [graph.node("Reshape", [qkv, qkv_shape])], perm=[1, 2, 0, 3])
        query, key, value = (
            graph.node(
                "Squeeze", [graph.node("Gather", [parts, graph.constant(f"{name}.part{i}", np.array([i]))]), first]
            )
            for i in range(3)
        )
        scores = graph.node(
            "Mul", [graph.node("MatMul", [query, graph.node("Transpose", [key], perm=[0, 2, 1])]), scale]
        )
        context = graph.node("MatMul", [graph.node("Softmax", [scores], axis=-1), value])
        context = graph.node("Reshape", [graph.node("Transpose", [context], perm=[1, 0, 2]), context_shape])
        attended = graph.linear(context, layer.attention_out_weight, layer.attention_out_bias, f"{name}.attention_out")
        x = graph.layer_norm(
            graph.node("Add", [x, attended]), layer.attention_norm, f"{name}.attention_norm", encoder.eps
        )
        hidden = graph.linear(x, layer.intermediate_weight, layer.intermediate_bias, f"{name}.intermediate")
        # BERT's exact GELU: 0.5 · h · (1 + erf(h / √2)).
        gate = graph.node("Add", [graph.node("Erf", [graph.node("Mul", [hidden, inverse_sqrt2])]), one])
        hidden = graph.node("Mul", [graph.node("Mul", [hidden, half]), gate])
        output = graph.linear(hidden, layer.output_weight, layer.output_bias, f"{name}.output")
        x = graph.layer_norm(graph.node("Add", [x, output]), layer.output_norm, f"{name}.output_norm", encoder.eps)
    return x


@dataclass(frozen=True)
class OnnxLayers:
    """The six layers as a session; ``weights`` keeps the lent matrices alive as long as it."""

    session: Any
    weights: list[Any]

    def pooled(self, hidden: np.ndarray) -> np.ndarray:
        """``hidden`` (tokens, 384) float32 from the embedding layer → the mean over tokens (384,)."""
        return self.session.run(None, {INPUT_NAME: hidden})[0]


def onnx_layers_build(*, encoder: SentenceEncoder, threads: int = 1) -> OnnxLayers:
    """The encoder's layers in ONNX Runtime, reading the encoder's own weight arrays; ``threads``
    other than one only for bench/bench_encoder.py's comparison."""
    import onnxruntime
    from onnx import TensorProto, helper

    graph = _GraphBuilder()
    last = _layers_add(graph, encoder)
    graph.nodes.append(
        helper.make_node(
            "ReduceMean", [last, graph.constant("token_axis", np.array([0], np.int64))], [OUTPUT_NAME], keepdims=0
        )
    )
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "all-MiniLM-L6-v2",
            [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["tokens", encoder.dimension])],
            [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [encoder.dimension])],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", 18)],
    )
    options = onnxruntime.SessionOptions()
    # One thread: a second one takes about a quarter off a lone query's time but adds to its CPU
    # (handing work over, waking up; docs/benchmarks.md, "Query encoder: one thread or two"), and
    # under load the CPU is what every other conversation waits for; the numpy path keeps BLAS to
    # one thread too (see SentenceEncoder). Threads sleep rather than spin, so an idle session
    # never burns a core the web server needs.
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    weights = [onnxruntime.OrtValue.ortvalue_from_numpy(array) for array in graph.lent.values()]
    options.add_external_initializers(list(graph.lent), weights)
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return OnnxLayers(session=session, weights=weights)
