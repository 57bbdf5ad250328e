#!/usr/bin/env python3
"""Runs kdlab's exported models in independent runtimes, for tst_export.

  export_check.py --images F.f32 --count N --shape C H W --out DIR [--torchscript M.pt] [--onnx M.onnx]

Reads N float32 images [N, C, H, W] from F.f32. The TorchScript file is loaded with Python's torch.jit.load
(PyTorch, not kdlab's LibTorch); the ONNX file is checked with onnx.checker (full check, with shape
inference) and run by OpenCV's DNN module (cv2.dnn). Writes the logits as float32 to DIR/torchscript.f32 and
DIR/onnx.f32, and prints one JSON line: the model cards found inside the files and the output shapes.
Exits 1 with a one-line message when a runtime cannot load or run a model.
"""
import argparse
import json
import os
import sys

import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--images", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--shape", type=int, nargs=3, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--torchscript")
    p.add_argument("--onnx")
    a = p.parse_args()
    images = np.fromfile(a.images, dtype=np.float32).reshape(a.count, *a.shape)
    report = {}
    if a.torchscript:
        import torch

        extra = {"model_card.json": ""}
        model = torch.jit.load(a.torchscript, map_location="cpu", _extra_files=extra)
        model.eval()
        with torch.no_grad():
            logits = model(torch.from_numpy(images)).numpy().astype(np.float32)
        logits.tofile(os.path.join(a.out, "torchscript.f32"))
        report["torchscript"] = {
            "shape": list(logits.shape),
            "card": json.loads(extra["model_card.json"] or "null"),
            "torch": torch.__version__,
        }
    if a.onnx:
        import cv2
        import onnx

        model = onnx.load(a.onnx)
        onnx.checker.check_model(model, full_check=True)
        meta = {p.key: p.value for p in model.metadata_props}
        net = cv2.dnn.readNetFromONNX(a.onnx)
        net.setInput(images)
        logits = net.forward().astype(np.float32)
        logits.tofile(os.path.join(a.out, "onnx.f32"))
        report["onnx"] = {
            "shape": list(logits.shape),
            "card": json.loads(meta.get("kdlab_model_card", "null")),
            "opset": [o.version for o in model.opset_import],
            "input": [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim],
            "opencv": cv2.__version__,
        }
    print(json.dumps(report))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the test's failure message
        print(f"export_check.py: {type(e).__name__}: {e}".replace("\n", " "), file=sys.stderr)
        sys.exit(1)
