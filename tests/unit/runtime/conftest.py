"""Fixtures of the runtime tests: tiny ONNX detectors that emit fixed tensors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

MakeOnnx = Callable[..., Path]


@pytest.fixture
def make_onnx(tmp_path: Path) -> MakeOnnx:
    """Build a small ONNX "detector" whose outputs are the given constant tensors.

    ``make_onnx(outputs, name=..., input_shape=("batch", 3, 96, 96), input_type=np.float32,
    metadata=None, batched=True)``: each output array has a leading batch axis of 1 when
    ``batched``; the graph repeats it along the input's batch size (Shape → Expand), so the
    model has a dynamic batch. Unbatched outputs are emitted as they are.
    """
    onnx = pytest.importorskip("onnx")
    from onnx import helper, numpy_helper

    def build(
        outputs: dict[str, np.ndarray],
        *,
        name: str = "model.onnx",
        input_shape: tuple[Any, ...] = ("batch", 3, 96, 96),
        input_type: Any = np.float32,
        extra_inputs: int = 0,
        metadata: dict[str, str] | None = None,
        batched: bool = True,
    ) -> Path:
        in_type = helper.np_dtype_to_tensor_dtype(np.dtype(input_type))
        inputs = [helper.make_tensor_value_info("images", in_type, list(input_shape))]
        inputs += [
            helper.make_tensor_value_info(f"extra{i}", onnx.TensorProto.FLOAT, [1])
            for i in range(extra_inputs)
        ]
        inits = [
            numpy_helper.from_array(np.array([0], np.int64), "zero"),
            numpy_helper.from_array(np.array([1], np.int64), "one"),
        ]
        nodes = [
            helper.make_node("Shape", ["images"], ["in_shape"]),
            helper.make_node("Slice", ["in_shape", "zero", "one"], ["batch"]),
        ]
        outs = []
        for out_name, arr in outputs.items():
            inits.append(numpy_helper.from_array(arr, f"{out_name}_const"))
            dtype = helper.np_dtype_to_tensor_dtype(arr.dtype)
            if batched:
                tail = np.array(arr.shape[1:], np.int64)
                inits.append(numpy_helper.from_array(tail, f"{out_name}_tail"))
                nodes += [
                    helper.make_node(
                        "Concat", ["batch", f"{out_name}_tail"], [f"{out_name}_shape"], axis=0
                    ),
                    helper.make_node(
                        "Expand", [f"{out_name}_const", f"{out_name}_shape"], [out_name]
                    ),
                ]
                shape: list[Any] = ["batch", *arr.shape[1:]]
            else:
                nodes.append(helper.make_node("Identity", [f"{out_name}_const"], [out_name]))
                shape = list(arr.shape)
            outs.append(helper.make_tensor_value_info(out_name, dtype, shape))
        graph = helper.make_graph(nodes, "fixed_detector", inputs, outs, initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
        if metadata:
            helper.set_model_props(model, metadata)
        onnx.checker.check_model(model)
        path = tmp_path / name
        onnx.save(model, str(path))
        return path

    return build
