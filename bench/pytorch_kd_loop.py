#!/usr/bin/env python3
"""The knowledge-distillation loop as people write it in PyTorch (Python), for kdlab's benchmark.

Fashion-MNIST from the same IDX files, a TensorDataset + DataLoader (batch 128, shuffled), Adam; the teacher
epoch trains with cross-entropy; the distillation epoch runs the teacher forward on every batch under no_grad,
as the PyTorch knowledge-distillation tutorial does. Prints one JSON object with samples/s per repetition.
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    if magic == 0x803:
        n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, rows, cols)
    return np.frombuffer(data, dtype=np.uint8, offset=8)


def mlp(sizes, dropout):
    layers = [nn.Flatten()]
    for a, b in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(a, b), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(sizes[-2], sizes[-1]))
    return nn.Sequential(*layers)


def kd_loss(s, t, y, T, alpha):
    soft = F.kl_div(F.log_softmax(s / T, dim=1), F.log_softmax(t / T, dim=1), reduction="batchmean",
                    log_target=True) * (T * T)
    return alpha * soft + (1 - alpha) * F.cross_entropy(s, y)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-limit", type=int, default=0)
    args = p.parse_args()

    x = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz"))
    if args.train_limit:
        x, y = x[:args.train_limit], y[:args.train_limit]
    x = torch.from_numpy(x.astype(np.float32) / 255.0)
    x = (x - x.mean()) / x.std()
    y = torch.from_numpy(y.astype(np.int64))
    loader = DataLoader(TensorDataset(x, y), batch_size=args.batch_size, shuffle=True)
    n = len(y)

    torch.manual_seed(1)
    teacher_rates, distill_rates = [], []
    for _ in range(args.reps):
        teacher = mlp([784, 1200, 1200, 10], dropout=0.5)
        opt = torch.optim.Adam(teacher.parameters(), lr=1e-3)
        teacher.train()
        t0 = time.perf_counter()
        for xb, yb in loader:
            loss = F.cross_entropy(teacher(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        teacher_rates.append(n / (time.perf_counter() - t0))

        student = mlp([784, 800, 800, 10], dropout=0)
        opt = torch.optim.Adam(student.parameters(), lr=1e-3)
        teacher.eval()
        student.train()
        t0 = time.perf_counter()
        for xb, yb in loader:
            with torch.no_grad():
                t_logits = teacher(xb)
            loss = kd_loss(student(xb), t_logits, yb, T=4.0, alpha=0.5)
            opt.zero_grad()
            loss.backward()
            opt.step()
        distill_rates.append(n / (time.perf_counter() - t0))

    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "samples": n,
                      "teacher_samples_per_second": teacher_rates,
                      "distill_samples_per_second": distill_rates}))


if __name__ == "__main__":
    main()
