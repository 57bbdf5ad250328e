#!/usr/bin/env python3
"""Accuracy of kdlab's exported models on the whole Fashion-MNIST test set, in independent runtimes.

  bench/exported_accuracy.py DIR/export/student    # reads student.pt and student.onnx (+ .json cards)

Loads the TorchScript file with Python's PyTorch (torch.jit.load) and the ONNX file with OpenCV (cv2.dnn), runs
all 10,000 test images from /usr/share/datasets/fashion-mnist, and prints both accuracies beside the one kdlab
measured (the model card's), the largest logit difference between the two runtimes, and their disagreements.
"""
import gzip
import json
import sys

import cv2
import numpy as np
import torch

DATA = "/usr/share/datasets/fashion-mnist/"


def main(stem):
    with gzip.open(DATA + "t10k-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    with gzip.open(DATA + "t10k-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read()[8:], dtype=np.uint8)
    with torch.no_grad():
        ts = torch.jit.load(stem + ".pt", map_location="cpu")(torch.from_numpy(x)).numpy()
    net = cv2.dnn.readNetFromONNX(stem + ".onnx")
    net.setInput(x)
    onnx = net.forward()
    with open(stem + ".onnx.json") as f:
        card = json.load(f)
    print(
        f"{stem}: torch.jit {(ts.argmax(1) == y).mean():.4f}, cv2.dnn {(onnx.argmax(1) == y).mean():.4f}, "
        f"kdlab {card['test_accuracy']['this_model']:.4f} ({len(y)} test images); "
        f"max |logit difference| {np.abs(ts - onnx).max():.1e}, "
        f"{int((ts.argmax(1) != onnx.argmax(1)).sum())} disagreement(s)"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
