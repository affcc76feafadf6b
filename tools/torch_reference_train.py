#!/usr/bin/python3
"""PyTorch reference training for the accuracy comparison (dev-time tool).

Trains the seed's models with the per-sample fix (each sample's context layer
sees only its own LSTM states) on a dataset CSV, with the seed's
preprocessing, Adam, mini-batches, and best-validation-macro-F1 checkpoint,
then scores the test rows. Rows come from a split file written by
`earlyflow train --split-out FILE`, so C and PyTorch train, select and test
on exactly the same rows.

usage: torch_reference_train.py --csv DATA.csv --split SPLIT.csv --arch bilstm
           [--labels Unlabeled,HTTP,Alpha,Multi] [--epochs 30] [--patience 10]
           [--pretrain-epochs 30] [--seed 1] [--batch 20] [--lr 0.001]
Prints one JSON line: arch, seed, best_epoch, valid_f1, test_f1, test_acc.
"""
import argparse
import csv
import json
import math
import sys

import torch
import torch.nn as nn


def read_csv(path, labels):
    with open(path, newline="") as f:
        r = csv.reader(f)
        head = [h.strip() for h in next(r)]
        k = sum(1 for h in head if h.startswith("pktSize"))
        si = [head.index(f"pktSize{i}") for i in range(1, k + 1)]
        ti = [head.index(f"pktTime{i}") for i in range(1, k + 1)]
        li = head.index("taxonomy label")
        rows = {}
        for n, row in enumerate(r, start=1):
            if not row:
                continue
            rows[n] = ([float(row[i]) for i in si], [float(row[i]) for i in ti],
                       labels.index(row[li].strip()) if row[li].strip() in labels else -1)
    return k, rows


def read_split(path):
    parts = {"train": [], "valid": [], "test": []}
    with open(path, newline="") as f:
        for rec in csv.DictReader(f):
            parts[rec["split"]].append(int(rec["row"]))
    return parts


class Preproc:
    def __init__(self, rows):
        s = [math.log2(v) for r in rows for v in r[0] if v > 0]
        t = [math.log2(v + 1) for r in rows for v, sz in zip(r[1], r[0]) if sz > 0]
        self.smin, self.smax, self.tmin, self.tmax = min(s), max(s), min(t), max(t)

    def __call__(self, rows, k):
        x = torch.zeros(len(rows), k, 2)
        for b, (sizes, times, _) in enumerate(rows):
            for j in range(k):
                if sizes[j] <= 0:
                    break
                a = (math.log2(sizes[j]) - self.smin) / max(self.smax - self.smin, 1e-30)
                c = (math.log2(times[j] + 1) - self.tmin) / max(self.tmax - self.tmin, 1e-30)
                x[b, j, 0] = min(max(a, 0.0), 1.0)
                x[b, j, 1] = min(max(c, 0.0), 1.0)
        return x


class Encoder(nn.Module):
    def __init__(self, hidden, layers):
        super().__init__()
        self.rnn = nn.LSTM(2, hidden, layers, batch_first=True)


def states(enc, x):
    """Per sample: (h, c) of every layer, concatenated layer by layer."""
    _, (h, c) = enc.rnn(x)
    return torch.cat([h, c], dim=2).permute(1, 0, 2).reshape(x.shape[0], -1)


class Context(nn.Module):
    def __init__(self, hidden, layers, context):
        super().__init__()
        self.fc1 = nn.Linear(2 * layers * hidden, 2 * layers * context)


class MLP(nn.Module):
    def __init__(self, k, hidden, classes):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(2 * k, hidden), nn.Linear(hidden, hidden)
        self.fc3, self.fc4 = nn.Linear(hidden, hidden), nn.Linear(hidden, classes)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        return self.fc4(torch.relu(self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))))


class FWD(nn.Module):
    def __init__(self, hidden, layers, classes):
        super().__init__()
        self.encoder = Encoder(hidden, layers)
        self.fc1 = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.encoder.rnn(x)
        return self.fc1(out[:, -1, :])


class BI(nn.Module):
    def __init__(self, hidden, layers, context, classes):
        super().__init__()
        self.layers, self.context = layers, context
        self.forward_lstm, self.backward_lstm = Encoder(hidden, layers), Encoder(hidden, layers)
        self.mlp1, self.mlp2 = Context(hidden, layers, context), Context(hidden, layers, context)
        self.fc1 = nn.Linear(2 * context, classes)

    def top_h(self, enc, ctx, x):
        c = ctx.fc1(states(enc, x)).reshape(x.shape[0], self.layers, 2 * self.context)
        return c[:, -1, :self.context]

    def forward(self, x):
        a = self.top_h(self.forward_lstm, self.mlp1, x)
        b = self.top_h(self.backward_lstm, self.mlp2, torch.flip(x, dims=[1]))
        return self.fc1(torch.cat([a, b], dim=1))


class SEQ(nn.Module):
    def __init__(self, hidden, layers, context, classes):
        super().__init__()
        self.layers, self.context = layers, context
        self.encoder, self.mlp1 = Encoder(hidden, layers), Context(hidden, layers, context)
        self.fc1 = nn.Linear(context, classes)

    def forward(self, x):
        c = self.mlp1.fc1(states(self.encoder, x)).reshape(x.shape[0], self.layers, 2 * self.context)
        return self.fc1(c[:, -1, :self.context])


class Decoder(nn.Module):
    def __init__(self, hidden, layers):
        super().__init__()
        self.rnn = nn.LSTM(2, hidden, layers, batch_first=True)
        self.fc_out = nn.Linear(hidden, 2)


class AutoEnc(nn.Module):
    def __init__(self, hidden, layers, context):
        super().__init__()
        self.hidden, self.layers, self.context = hidden, layers, context
        self.encoder, self.mlp1 = Encoder(hidden, layers), Context(hidden, layers, context)
        self.mlp2 = Context(hidden, layers, context)
        self.mlp2.fc1 = nn.Linear(2 * layers * context, 2 * layers * hidden)
        self.decoder = Decoder(hidden, layers)

    def forward(self, x):
        B, k = x.shape[0], x.shape[1]
        z = self.mlp2.fc1(self.mlp1.fc1(states(self.encoder, x)))
        z = z.reshape(B, self.layers, 2 * self.hidden).permute(1, 0, 2)
        h, c = z[:, :, :self.hidden].contiguous(), z[:, :, self.hidden:].contiguous()
        inp, outs = torch.zeros(B, 1, 2), []
        for _ in range(k):
            o, (h, c) = self.decoder.rnn(inp, (h, c))
            inp = torch.relu(self.decoder.fc_out(o))
            outs.append(inp)
        return torch.cat(outs, dim=1)


def macro_f1(pred, truth, classes):
    f1s = []
    for c in range(classes):
        tp = sum(1 for p, t in zip(pred, truth) if p == c and t == c)
        npred = sum(1 for p in pred if p == c)
        ntrue = sum(1 for t in truth if t == c)
        if npred == 0 and ntrue == 0:
            continue
        prec = tp / npred if npred else 0.0
        rec = tp / ntrue if ntrue else 0.0
        f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
    acc = sum(1 for p, t in zip(pred, truth) if p == t) / len(truth)
    return sum(f1s) / len(f1s), acc


def batches(n, size, gen):
    perm = torch.randperm(n, generator=gen)
    return [perm[s:s + size] for s in range(0, n, size)]


def fit(model, xtr, ytr, xva, yva, a, classes, loss_fn, select):
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    gen = torch.Generator().manual_seed(a.seed)
    best, best_state, best_epoch, since = -math.inf, None, 0, 0
    epochs = a.pretrain_epochs if classes is None else a.epochs
    for epoch in range(1, epochs + 1):
        model.train()
        for idx in batches(len(xtr), a.batch, gen):
            opt.zero_grad()
            out = model(xtr[idx])
            loss = loss_fn(out, xtr[idx] if ytr is None else ytr[idx])
            loss.backward()
            opt.step()
        with torch.no_grad():
            score = select(model, xva, yva)
        if score > best:
            best, best_epoch, since = score, epoch, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            since += 1
            if a.patience and since >= a.patience:
                break
    model.load_state_dict(best_state)
    return best, best_epoch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--split", required=True)
    ap.add_argument("--arch", choices=["mlp", "lstm", "bilstm", "seq2seq"], required=True)
    ap.add_argument("--labels", default="Unlabeled,HTTP,Alpha,Multi")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--pretrain-epochs", type=int, default=30)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--hidden", type=int, default=20)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--context", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    labels = a.labels.split(",")
    C = len(labels)
    k, rows = read_csv(a.csv, labels)
    sp = read_split(a.split)
    part = {s: [rows[n] for n in sp[s]] for s in sp}
    pp = Preproc(part["train"])
    x = {s: pp(part[s], k) for s in part}
    y = {s: torch.tensor([r[2] for r in part[s]]) for s in part}

    def f1_of(model, xs, ys):
        model.eval()
        pred = model(xs).argmax(dim=1).tolist()
        return macro_f1(pred, ys.tolist(), C)[0]

    ce = nn.CrossEntropyLoss()
    if a.arch == "mlp":
        model = MLP(k, a.hidden, C)
    elif a.arch == "lstm":
        model = FWD(a.hidden, a.layers, C)
    elif a.arch == "bilstm":
        model = BI(a.hidden, a.layers, a.context, C)
    else:
        ae = AutoEnc(a.hidden, a.layers, a.context)
        mse = nn.MSELoss()
        fit(ae, x["train"], None, x["valid"], None, a, None, mse,
            lambda m, xs, ys: -mse(m(xs), xs).item())
        model = SEQ(a.hidden, a.layers, a.context, C)
        model.load_state_dict(ae.state_dict(), strict=False)
    valid_f1, best_epoch = fit(model, x["train"], y["train"], x["valid"], y["valid"], a, C, ce,
                               lambda m, xs, ys: f1_of(m, xs, ys))
    with torch.no_grad():
        model.eval()
        test_f1, test_acc = macro_f1(model(x["test"]).argmax(dim=1).tolist(), y["test"].tolist(), C)
    print(json.dumps({"impl": "torch", "arch": a.arch, "seed": a.seed, "best_epoch": best_epoch,
                      "valid_f1": round(valid_f1, 6), "test_f1": round(test_f1, 6),
                      "test_acc": round(test_acc, 6)}))


if __name__ == "__main__":
    sys.exit(main())
