"""Small real image classifiers written in every format owb imports, without
TensorFlow, Paddle or torch: OpenVINO IR (opset API), ONNX (onnx.helper),
TFLite (flatbuffer via the `tflite` package's generated builders) and a TF
frozen GraphDef (protobuf messages shipped by `tensorboardX`).

Every builder writes the same network with the same weights, so one numpy
forward pass (`reference`) checks them all:

    image -> conv 3x3, 3->8, pad 1, +bias -> relu -> global mean -> matmul 8->4 +bias -> logits
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

INPUT_NAME = "image"
OUTPUT_NAME = "logits"
NCHW = (1, 3, 32, 32)
NHWC = (1, 32, 32, 3)
CLASSES = 4
CHANNELS = 8

# Weight elements: conv kernel + conv bias + dense kernel + dense bias.
PARAMS = CHANNELS * 3 * 3 * 3 + CHANNELS + CHANNELS * CLASSES + CLASSES  # 260
# Multiply-adds: every conv output element sums 3*3*3 products; every logit sums 8.
MACS = CHANNELS * 32 * 32 * (3 * 3 * 3) + CLASSES * CHANNELS  # 221216
FLOPS = 2 * MACS


@dataclass(frozen=True)
class Weights:
    conv_w: np.ndarray  # OIHW [8, 3, 3, 3]
    conv_b: np.ndarray  # [8]
    fc_w: np.ndarray  # [in 8, out 4]
    fc_b: np.ndarray  # [4]


def weights(seed: int = 0) -> Weights:
    rng = np.random.default_rng(seed)
    return Weights(
        conv_w=rng.normal(0, 0.5, (CHANNELS, 3, 3, 3)).astype(np.float32),
        conv_b=rng.normal(0, 0.1, CHANNELS).astype(np.float32),
        fc_w=rng.normal(0, 0.5, (CHANNELS, CLASSES)).astype(np.float32),
        fc_b=rng.normal(0, 0.1, CLASSES).astype(np.float32),
    )


def reference(x_nchw: np.ndarray, w: Weights | None = None) -> np.ndarray:
    """The network in plain numpy, float64, on an NCHW batch."""
    w = w or weights()
    x = np.pad(x_nchw.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(2, 3))  # N,C,H,W,kh,kw
    conv = np.einsum("nchwij,ocij->nohw", windows, w.conv_w.astype(np.float64))
    conv += w.conv_b[None, :, None, None]
    pooled = np.maximum(conv, 0).mean(axis=(2, 3))
    return pooled @ w.fc_w + w.fc_b


def random_image(seed: int = 1, nhwc: bool = False, batch: int = 1) -> np.ndarray:
    shape = (batch, *(NHWC[1:] if nhwc else NCHW[1:]))
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def quantize_per_channel(conv_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-output-channel int8 weights and their f32 scales [O,1,1,1]."""
    scale = (np.abs(conv_w).reshape(conv_w.shape[0], -1).max(axis=1) / 127.0).astype(np.float32)
    scale = scale.reshape(-1, 1, 1, 1)
    q = np.clip(np.round(conv_w / scale), -127, 127).astype(np.int8)
    return q, scale


def int8_weights(seed: int = 0) -> Weights:
    """The weights an int8 IR from `build_int8_ir` really computes with."""
    w = weights(seed)
    q, scale = quantize_per_channel(w.conv_w)
    return replace(w, conv_w=(q.astype(np.float32) * scale).astype(np.float32))


# -- OpenVINO IR ---------------------------------------------------------------

def _ov_model(conv_weight_output, w: Weights):
    import openvino as ov
    import openvino.opset13 as ops

    image = ops.parameter(list(NCHW), ov.Type.f32, name=INPUT_NAME)
    image.output(0).get_tensor().set_names({INPUT_NAME})
    conv = ops.convolution(image, conv_weight_output, [1, 1], [1, 1], [1, 1], [1, 1])
    conv = ops.add(conv, ops.constant(w.conv_b.reshape(1, -1, 1, 1)))
    pooled = ops.reduce_mean(ops.relu(conv), ops.constant(np.array([2, 3], np.int64)), keep_dims=False)
    logits = ops.add(ops.matmul(pooled, ops.constant(w.fc_w), False, False), ops.constant(w.fc_b))
    logits.output(0).get_tensor().set_names({OUTPUT_NAME})
    return ov.Model([ops.result(logits)], [image], "tiny_classifier")


def build_ir(dir: str | Path, *, compress_to_fp16: bool = False, filename: str = "tiny.xml") -> Path:
    """FP32 IR (or FP16-stored with ``compress_to_fp16``); returns the .xml."""
    import openvino as ov
    import openvino.opset13 as ops

    w = weights()
    path = Path(dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(_ov_model(ops.constant(w.conv_w), w), str(path), compress_to_fp16=compress_to_fp16)
    return path


def build_int8_ir(dir: str | Path, *, filename: str = "tiny_int8.xml") -> Path:
    """IR whose conv kernel is stored as i8 and dequantized in the graph
    (Constant i8 -> Convert f32 -> Multiply by per-channel scale), the pattern
    NNCF's weight compression writes."""
    import openvino as ov
    import openvino.opset13 as ops

    w = weights()
    q, scale = quantize_per_channel(w.conv_w)
    kernel = ops.multiply(ops.convert(ops.constant(q), ov.Type.f32), ops.constant(scale))
    path = Path(dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(_ov_model(kernel.output(0), w), str(path), compress_to_fp16=False)
    return path


def build_fake_quantize_ir(dir: str | Path, *, filename: str = "tiny_fq.xml") -> Path:
    """IR with a 255-level FakeQuantize on the conv kernel (f32 storage, int8 semantics)."""
    import openvino as ov
    import openvino.opset13 as ops

    w = weights()
    limit = np.abs(w.conv_w).reshape(CHANNELS, -1).max(axis=1).reshape(-1, 1, 1, 1).astype(np.float32)
    lo, hi = ops.constant(-limit), ops.constant(limit)
    kernel = ops.fake_quantize(ops.constant(w.conv_w), lo, hi, lo, hi, 255)
    path = Path(dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(_ov_model(kernel.output(0), w), str(path), compress_to_fp16=False)
    return path


# -- ONNX ----------------------------------------------------------------------

def build_onnx(dir: str | Path, dynamic_batch: bool = False, *, filename: str | None = None) -> Path:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = weights()
    batch: int | str = "N" if dynamic_batch else 1
    inits = [
        numpy_helper.from_array(w.conv_w, "conv_w"),
        numpy_helper.from_array(w.conv_b, "conv_b"),
        numpy_helper.from_array(w.fc_w, "fc_w"),
        numpy_helper.from_array(w.fc_b, "fc_b"),
    ]
    nodes = [
        helper.make_node("Conv", [INPUT_NAME, "conv_w", "conv_b"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pool"]),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], [OUTPUT_NAME]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_classifier",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [batch, 3, 32, 32])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, [batch, CLASSES])],
        inits,
    )
    # IR version 8 keeps the file readable by older runtimes too.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model, full_check=True)
    path = Path(dir) / (filename or ("tiny_dynamic.onnx" if dynamic_batch else "tiny.onnx"))
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


# -- TFLite --------------------------------------------------------------------

def _fb_vector(builder, start, values, prepend) -> int:
    start(builder, len(values))
    for v in reversed(values):
        prepend(v)
    return builder.EndVector()


def build_tflite(dir: str | Path, *, filename: str = "tiny.tflite") -> Path:
    """A TFLite flatbuffer (schema v3) of the network in NHWC: CONV_2D with
    fused RELU, MEAN over H,W, FULLY_CONNECTED."""
    import flatbuffers
    import tflite as t

    w = weights()
    b = flatbuffers.Builder(4096)

    # Buffer 0 is the empty sentinel TFLite reserves; tensors with no data use it.
    arrays = [
        None,
        w.conv_w.transpose(0, 2, 3, 1).copy(),  # OHWI
        w.conv_b,
        np.array([1, 2], np.int32),  # MEAN axes
        w.fc_w.T.copy(),  # FULLY_CONNECTED wants [out, in]
        w.fc_b,
    ]
    buffers = []
    for arr in arrays:
        data = None
        if arr is not None:
            raw = np.ascontiguousarray(arr).tobytes()
            b.StartVector(1, len(raw), 16)  # 16-byte alignment, as the TFLite converter writes
            b.head = b.head - len(raw)
            b.Bytes[b.head : b.head + len(raw)] = raw
            data = b.EndVector()
        t.BufferStart(b)
        if data is not None:
            t.BufferAddData(b, data)
        buffers.append(t.BufferEnd(b))

    F32, I32 = t.TensorType.FLOAT32, t.TensorType.INT32
    tensor_specs = [  # name, shape, type, buffer
        (INPUT_NAME, list(NHWC), F32, 0),
        ("conv_w", [CHANNELS, 3, 3, 3], F32, 1),
        ("conv_b", [CHANNELS], F32, 2),
        ("conv", [1, 32, 32, CHANNELS], F32, 0),
        ("mean_axes", [2], I32, 3),
        ("pool", [1, CHANNELS], F32, 0),
        ("fc_w", [CLASSES, CHANNELS], F32, 4),
        ("fc_b", [CLASSES], F32, 5),
        (OUTPUT_NAME, [1, CLASSES], F32, 0),
    ]
    tensors = []
    for name, shape, ttype, buf in tensor_specs:
        name_off = b.CreateString(name)
        shape_off = _fb_vector(b, t.TensorStartShapeVector, shape, b.PrependInt32)
        t.TensorStart(b)
        t.TensorAddShape(b, shape_off)
        t.TensorAddType(b, ttype)
        t.TensorAddBuffer(b, buf)
        t.TensorAddName(b, name_off)
        tensors.append(t.TensorEnd(b))
    index = {spec[0]: i for i, spec in enumerate(tensor_specs)}

    t.Conv2DOptionsStart(b)
    t.Conv2DOptionsAddPadding(b, t.Padding.SAME)
    t.Conv2DOptionsAddStrideW(b, 1)
    t.Conv2DOptionsAddStrideH(b, 1)
    t.Conv2DOptionsAddDilationWFactor(b, 1)
    t.Conv2DOptionsAddDilationHFactor(b, 1)
    t.Conv2DOptionsAddFusedActivationFunction(b, t.ActivationFunctionType.RELU)
    conv_opts = t.Conv2DOptionsEnd(b)
    t.ReducerOptionsStart(b)
    t.ReducerOptionsAddKeepDims(b, False)
    mean_opts = t.ReducerOptionsEnd(b)
    t.FullyConnectedOptionsStart(b)
    t.FullyConnectedOptionsAddFusedActivationFunction(b, t.ActivationFunctionType.NONE)
    fc_opts = t.FullyConnectedOptionsEnd(b)

    op_specs = [  # opcode index, inputs, outputs, options type, options
        (0, ["image", "conv_w", "conv_b"], ["conv"], t.BuiltinOptions.Conv2DOptions, conv_opts),
        (1, ["conv", "mean_axes"], ["pool"], t.BuiltinOptions.ReducerOptions, mean_opts),
        (2, ["pool", "fc_w", "fc_b"], [OUTPUT_NAME], t.BuiltinOptions.FullyConnectedOptions, fc_opts),
    ]
    operators = []
    for opcode, ins, outs, opt_type, opts in op_specs:
        ins_off = _fb_vector(b, t.OperatorStartInputsVector, [index[n] for n in ins], b.PrependInt32)
        outs_off = _fb_vector(b, t.OperatorStartOutputsVector, [index[n] for n in outs], b.PrependInt32)
        t.OperatorStart(b)
        t.OperatorAddOpcodeIndex(b, opcode)
        t.OperatorAddInputs(b, ins_off)
        t.OperatorAddOutputs(b, outs_off)
        t.OperatorAddBuiltinOptionsType(b, opt_type)
        t.OperatorAddBuiltinOptions(b, opts)
        operators.append(t.OperatorEnd(b))

    codes = []
    for code in (t.BuiltinOperator.CONV_2D, t.BuiltinOperator.MEAN, t.BuiltinOperator.FULLY_CONNECTED):
        t.OperatorCodeStart(b)
        t.OperatorCodeAddDeprecatedBuiltinCode(b, code)  # readers before schema 3a look here
        t.OperatorCodeAddBuiltinCode(b, code)
        t.OperatorCodeAddVersion(b, 1)
        codes.append(t.OperatorCodeEnd(b))

    tensors_off = _fb_vector(b, t.SubGraphStartTensorsVector, tensors, b.PrependUOffsetTRelative)
    inputs_off = _fb_vector(b, t.SubGraphStartInputsVector, [index[INPUT_NAME]], b.PrependInt32)
    outputs_off = _fb_vector(b, t.SubGraphStartOutputsVector, [index[OUTPUT_NAME]], b.PrependInt32)
    ops_off = _fb_vector(b, t.SubGraphStartOperatorsVector, operators, b.PrependUOffsetTRelative)
    sg_name = b.CreateString("main")
    t.SubGraphStart(b)
    t.SubGraphAddTensors(b, tensors_off)
    t.SubGraphAddInputs(b, inputs_off)
    t.SubGraphAddOutputs(b, outputs_off)
    t.SubGraphAddOperators(b, ops_off)
    t.SubGraphAddName(b, sg_name)
    subgraph = t.SubGraphEnd(b)

    codes_off = _fb_vector(b, t.ModelStartOperatorCodesVector, codes, b.PrependUOffsetTRelative)
    subgraphs_off = _fb_vector(b, t.ModelStartSubgraphsVector, [subgraph], b.PrependUOffsetTRelative)
    buffers_off = _fb_vector(b, t.ModelStartBuffersVector, buffers, b.PrependUOffsetTRelative)
    description = b.CreateString("owb test fixture")
    t.ModelStart(b)
    t.ModelAddVersion(b, 3)
    t.ModelAddOperatorCodes(b, codes_off)
    t.ModelAddSubgraphs(b, subgraphs_off)
    t.ModelAddDescription(b, description)
    t.ModelAddBuffers(b, buffers_off)
    b.Finish(t.ModelEnd(b), file_identifier=b"TFL3")

    path = Path(dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(b.Output()))
    return path


# -- TensorFlow frozen GraphDef --------------------------------------------------

def build_tf_pb(dir: str | Path, *, filename: str = "tiny.pb") -> Path:
    """A frozen GraphDef (NHWC) built from TF's protobuf messages, as shipped
    pure-Python by tensorboardX; the wire format is TensorFlow's own."""
    from tensorboardX.proto import attr_value_pb2, graph_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

    w = weights()
    graph = graph_pb2.GraphDef()
    graph.versions.producer = 1087

    def shape_proto(shape):
        return tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in shape])

    def node(name, op, inputs=(), **attrs):
        n = graph.node.add(name=name, op=op, input=list(inputs))
        for key, value in attrs.items():
            n.attr[key].CopyFrom(value)
        return n

    def const(name, arr):
        dtype = types_pb2.DT_INT32 if arr.dtype == np.int32 else types_pb2.DT_FLOAT
        tensor = tensor_pb2.TensorProto(dtype=dtype, tensor_shape=shape_proto(arr.shape),
                                        tensor_content=np.ascontiguousarray(arr).tobytes())
        node(name, "Const", dtype=attr_value_pb2.AttrValue(type=dtype), value=attr_value_pb2.AttrValue(tensor=tensor))

    f32 = attr_value_pb2.AttrValue(type=types_pb2.DT_FLOAT)
    nhwc = attr_value_pb2.AttrValue(s=b"NHWC")
    node(INPUT_NAME, "Placeholder", dtype=f32, shape=attr_value_pb2.AttrValue(shape=shape_proto(NHWC)))
    const("conv_w", w.conv_w.transpose(2, 3, 1, 0).copy())  # HWIO
    const("conv_b", w.conv_b)
    const("mean_axes", np.array([1, 2], np.int32))
    const("fc_w", w.fc_w)
    const("fc_b", w.fc_b)
    node("conv", "Conv2D", [INPUT_NAME, "conv_w"], T=f32, data_format=nhwc, padding=attr_value_pb2.AttrValue(s=b"SAME"),
         strides=attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(i=[1, 1, 1, 1])),
         dilations=attr_value_pb2.AttrValue(list=attr_value_pb2.AttrValue.ListValue(i=[1, 1, 1, 1])))
    node("conv_bias", "BiasAdd", ["conv", "conv_b"], T=f32, data_format=nhwc)
    node("relu", "Relu", ["conv_bias"], T=f32)
    node("pool", "Mean", ["relu", "mean_axes"], T=f32, Tidx=attr_value_pb2.AttrValue(type=types_pb2.DT_INT32),
         keep_dims=attr_value_pb2.AttrValue(b=False))
    node("dense", "MatMul", ["pool", "fc_w"], T=f32, transpose_a=attr_value_pb2.AttrValue(b=False),
         transpose_b=attr_value_pb2.AttrValue(b=False))
    node("dense_bias", "BiasAdd", ["dense", "fc_b"], T=f32, data_format=nhwc)
    node(OUTPUT_NAME, "Identity", ["dense_bias"], T=f32)

    path = Path(dir) / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(graph.SerializeToString())
    return path


# -- broken sources ------------------------------------------------------------

def write_broken_sources(dir: str | Path, good_onnx: Path, good_ir: Path) -> Path:
    """Files owb must refuse with one clear line, made from real models so each
    is broken in exactly one way."""
    import os

    import onnx

    d = Path(dir)
    xml, weights_bin = good_ir.read_bytes(), good_ir.with_suffix(".bin").read_bytes()
    files = {
        "truncated.xml": xml[: len(xml) // 2],
        "truncated.bin": weights_bin,
        "mismatch.xml": xml,
        "mismatch.bin": weights_bin[: len(weights_bin) // 3],  # offsets in the xml point past its end
        "nobin.xml": xml,
        "binary.xml": os.urandom(512),
        "binary.bin": weights_bin,
        "garbage.onnx": b"\x08\x07garbage" + os.urandom(300),
        "empty.onnx": b"",
        "garbage.tflite": b"\x1c\x00\x00\x00TFL3" + os.urandom(300),
        "garbage.pb": os.urandom(300),
        "model.txt": b"not a model",
        "folder/readme.txt": b"no saved_model.pb here",
        "fake_saved/saved_model.pb": os.urandom(200),
        "empty_labels.txt": b"\n  \n",
        "binary_labels.txt": b"\xff\xfe\xfa\x00\x80",
    }
    for name, data in files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_bytes(data)
    dangling = onnx.load(str(good_onnx))
    dangling.graph.node[0].input[0] = "nowhere"  # valid protobuf, graph refers to a missing tensor
    onnx.save(dangling, str(d / "dangling.onnx"))
    return d


def build_two_input_ir(dir: str | Path) -> Path:
    """Two image-like inputs: `image` feeds features -> logits, `aux` feeds aux_out."""
    import openvino as ov
    import openvino.opset13 as ops

    params = []
    for name in ("image", "aux"):
        p = ops.parameter([1, 3, 8, 8], ov.Type.f32, name=name)
        p.output(0).get_tensor().set_names({name})
        params.append(p)
    features = ops.relu(params[0])
    features.output(0).get_tensor().set_names({"features"})
    logits = ops.reduce_mean(features, ops.constant(np.array([2, 3], np.int64)), keep_dims=False)
    logits.output(0).get_tensor().set_names({"logits"})
    aux = ops.multiply(params[1], ops.constant(np.float32(2)))
    aux.output(0).get_tensor().set_names({"aux_out"})
    path = Path(dir) / "two_inputs.xml"
    ov.save_model(ov.Model([ops.result(logits), ops.result(aux)], params, "two"), str(path),
                  compress_to_fp16=False)
    return path
