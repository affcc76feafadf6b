#!/usr/bin/python3
"""PyTorch baseline for bench/run-training.sh: seconds per training epoch.

The seed configuration's workload, built the way the reference code builds
its forward LSTM (FWD): a 3-layer nn.LSTM(2 -> 20), the top layer's last
hidden state -> Linear(20 -> classes), cross-entropy, Adam(lr 0.001),
mini-batches of 20 over 20,000 random sequences of k = 5 steps.
One thread (torch.set_num_threads(1)), as the C side runs on one core.

Prints one line per epoch and a final `torch_seconds_per_epoch X` (the
median), which the driver script parses.
"""
import argparse
import statistics
import sys
import time

import torch
import torch.nn as nn


class Fwd(nn.Module):
    def __init__(self, features, hidden, layers, classes):
        super().__init__()
        self.rnn = nn.LSTM(features, hidden, layers, batch_first=True)
        self.fc1 = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc1(out[:, -1, :])


class Bi(nn.Module):
    """BI with the per-sample (h, c) context layer."""

    def __init__(self, features, hidden, layers, context, classes):
        super().__init__()
        self.layers, self.context = layers, context
        self.fwd = nn.LSTM(features, hidden, layers, batch_first=True)
        self.bwd = nn.LSTM(features, hidden, layers, batch_first=True)
        self.mlp1 = nn.Linear(2 * layers * hidden, 2 * layers * context)
        self.mlp2 = nn.Linear(2 * layers * hidden, 2 * layers * context)
        self.fc1 = nn.Linear(2 * context, classes)

    def top_h(self, rnn, mlp, x):
        _, (h, c) = rnn(x)                       # [layers, B, H] each
        hc = torch.cat([h, c], dim=2)            # [layers, B, 2H]
        hc = hc.permute(1, 0, 2).reshape(x.shape[0], -1)
        ctx = mlp(hc).reshape(x.shape[0], self.layers, 2 * self.context)
        return ctx[:, -1, :self.context]

    def forward(self, x):
        a = self.top_h(self.fwd, self.mlp1, x)
        b = self.top_h(self.bwd, self.mlp2, torch.flip(x, dims=[1]))
        return self.fc1(torch.cat([a, b], dim=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", choices=["lstm", "bilstm"], default="lstm")
    ap.add_argument("--sequences", type=int, default=20000)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=20)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--context", type=int, default=3)
    ap.add_argument("--classes", type=int, default=4)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    x = torch.rand(a.sequences, a.k, 2)
    y = torch.randint(0, a.classes, (a.sequences,))
    if a.arch == "lstm":
        model = Fwd(2, a.hidden, a.layers, a.classes)
    else:
        model = Bi(2, a.hidden, a.layers, a.context, a.classes)
    opt = torch.optim.Adam(model.parameters(), lr=0.001)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for epoch in range(a.epochs):
        perm = torch.randperm(a.sequences)
        t0 = time.perf_counter()
        total = 0.0
        for s in range(0, a.sequences, a.batch):
            idx = perm[s:s + a.batch]
            opt.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        dt = time.perf_counter() - t0
        times.append(dt)
        print(f"torch epoch {epoch + 1}: {dt:.3f} s, loss {total / a.sequences:.4f}",
              file=sys.stderr)
    print(f"torch_seconds_per_epoch {statistics.median(times):.4f}")


if __name__ == "__main__":
    main()
