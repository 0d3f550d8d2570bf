"""Small ONNX graph rewrites that make a traced transformers detector loadable by ONNX Runtime.

Several transformers detectors (D-FINE among them) compute their sine-cosine position embeddings in
float64; when the tracer cannot fold them into constants the graph keeps `Sin`/`Cos` on doubles,
which ONNX Runtime's CPU provider does not implement. Evaluating those two ops in float32 (cast in,
cast back) changes the embedding by less than 1e-6 and leaves every other node as exported.
"""

from __future__ import annotations

from pathlib import Path

TRIG_OPS = ("Sin", "Cos")


def float32_trig(path: str | Path) -> int:
    """Rewrite float64 Sin/Cos nodes of an ONNX file in place to run in float32; returns how many were rewritten."""
    import onnx
    from onnx import TensorProto, helper

    path = Path(path)
    model = onnx.load(str(path))
    inferred = onnx.shape_inference.infer_shapes(model)
    types = {v.name: v.type.tensor_type.elem_type
             for v in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]}
    for init in model.graph.initializer:
        types[init.name] = init.data_type
    nodes, rewritten = [], 0
    for node in model.graph.node:
        if node.op_type in TRIG_OPS and types.get(node.input[0]) == TensorProto.DOUBLE:
            rewritten += 1
            low_in, low_out = f"{node.input[0]}__f32_{rewritten}", f"{node.output[0]}__f32"
            nodes.append(helper.make_node("Cast", [node.input[0]], [low_in], to=TensorProto.FLOAT,
                                          name=f"{node.name}__to_f32"))
            nodes.append(helper.make_node(node.op_type, [low_in], [low_out], name=f"{node.name}__f32"))
            nodes.append(helper.make_node("Cast", [low_out], [node.output[0]], to=TensorProto.DOUBLE,
                                          name=f"{node.name}__to_f64"))
        else:
            nodes.append(node)
    if rewritten:
        del model.graph.node[:]
        model.graph.node.extend(nodes)
        onnx.save(model, str(path))
    return rewritten
