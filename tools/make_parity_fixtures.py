#!/usr/bin/python3
"""PyTorch reference fixtures for earlyflow's network core (tests/data/parity/).

Re-implements the seed's module layouts (parameter names exactly as the
reference checkpoints: see docs/models.md) in PyTorch, with the context layer
computed per sample (the correct definition; the reference code mixes the
batch there), plus the GRU variants. For each architecture it writes one
safetensors file holding

  param.<name>   the weights (random, seeded)
  x [B,k,F], n [B], labels [B], class_weights [K]   the inputs
  logits [B,K] (classifiers) or recon [B,k,F] (autoenc)
  loss [1]       weighted cross-entropy (classifiers) or MSE (autoenc)
  grad.<name>    d(loss)/d(param) for every parameter
  adam_losses [4]  the loss before each of 3 Adam steps and after the last

and, at the seed's dimensions (k=5, H=20, 3 layers, context 3), a forward-only
file seed_<arch>.safetensors whose weights follow a formula both sides
compute (see formula_weights), so it stays small.

Variable lengths: sample b uses its first n[b] steps (the backward branch
runs over those steps reversed); the MLP sees steps >= n[b] as zeros.

  /usr/bin/python3 tools/make_parity_fixtures.py [-o tests/data/parity]
  /usr/bin/python3 tools/make_parity_fixtures.py --checkpoint DIR [--arch A|all]

The second form writes, for the seed's four models at the seed's dimensions,
DIR/<arch>.pt (torch.save(model.state_dict()) in the seed's layout, for
tools/convert_torch.py) and DIR/<arch>-expect.safetensors (raw packet sizes
and inter-arrival times, lengths, and the softmax probabilities PyTorch
computes after the seed's preprocessing, whose constants are stored in its
metadata).
Deterministic: same torch version, same bytes.
"""
import argparse
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as Fn

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

# ---------------------------------------------------------------- modules


class Stack(nn.Module):
    """Holds `.rnn`, so names read encoder.rnn.weight_ih_l0 and so on."""

    def __init__(self, cell, F, H, L):
        super().__init__()
        kind = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = kind(F, H, L, batch_first=True)


class OneFC(nn.Module):
    """The seed's context layers: a module with a single `.fc1`."""

    def __init__(self, i, o):
        super().__init__()
        self.fc1 = nn.Linear(i, o)


class Decoder(nn.Module):
    def __init__(self, F, H, L):
        super().__init__()
        self.rnn = nn.LSTM(F, H, L, batch_first=True)
        self.fc_out = nn.Linear(H, F)


def final_state(stack, seq):
    """Run one sample (seq [n, F]); per-layer final h (and c) as lists."""
    _, st = stack.rnn(seq.unsqueeze(0))
    if isinstance(st, tuple):
        h, c = st
        return [h[l, 0] for l in range(h.shape[0])], [c[l, 0] for l in range(c.shape[0])]
    return [st[l, 0] for l in range(st.shape[0])], None


def state_vector(h, c):
    """(h_0, c_0, h_1, c_1, ...) for LSTMs, (h_0, h_1, ...) for GRUs."""
    parts = []
    for l in range(len(h)):
        parts.append(h[l])
        if c is not None:
            parts.append(c[l])
    return torch.cat(parts)


def top_context(z, L, C, per):
    """The top layer's context h: the first half of the last layer's part."""
    start = (L - 1) * per * C
    return z[start:start + C]


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        F, H, L, K, k = cfg["features"], cfg["hidden"], cfg["layers"], cfg["classes"], cfg["k"]
        self.L = L
        for i in range(1, L + 2):
            setattr(self, "fc%d" % i, nn.Linear(F * k if i == 1 else H, K if i == L + 1 else H))

    def forward(self, x, n):
        rows = []
        for b in range(x.shape[0]):
            xb = x[b].clone()
            xb[int(n[b]):] = 0.0
            a = xb.reshape(-1)
            for i in range(1, self.L + 1):
                a = torch.relu(getattr(self, "fc%d" % i)(a))
            rows.append(getattr(self, "fc%d" % (self.L + 1))(a))
        return torch.stack(rows)


class FWD(nn.Module):
    def __init__(self, cfg, cell):
        super().__init__()
        self.encoder = Stack(cell, cfg["features"], cfg["hidden"], cfg["layers"])
        self.fc1 = nn.Linear(cfg["hidden"], cfg["classes"])

    def forward(self, x, n):
        rows = []
        for b in range(x.shape[0]):
            h, _ = final_state(self.encoder, x[b, :int(n[b])])
            rows.append(self.fc1(h[-1]))
        return torch.stack(rows)


class BI(nn.Module):
    def __init__(self, cfg, cell):
        super().__init__()
        F, H, L, C, K = (cfg[k] for k in ("features", "hidden", "layers", "context", "classes"))
        self.per = 2 if cell == "lstm" else 1
        self.L, self.C = L, C
        self.fwd_name, self.bwd_name = ("forward_%s" % cell, "backward_%s" % cell)
        setattr(self, self.fwd_name, Stack(cell, F, H, L))
        setattr(self, self.bwd_name, Stack(cell, F, H, L))
        self.mlp1 = OneFC(self.per * L * H, self.per * L * C)
        self.mlp2 = OneFC(self.per * L * H, self.per * L * C)
        self.fc1 = nn.Linear(2 * C, K)

    def forward(self, x, n):
        rows = []
        for b in range(x.shape[0]):
            seq = x[b, :int(n[b])]
            hf, cf = final_state(getattr(self, self.fwd_name), seq)
            hb, cb = final_state(getattr(self, self.bwd_name), seq.flip(0))
            zf = self.mlp1.fc1(state_vector(hf, cf))
            zb = self.mlp2.fc1(state_vector(hb, cb))
            top = torch.cat([top_context(zf, self.L, self.C, self.per),
                             top_context(zb, self.L, self.C, self.per)])
            rows.append(self.fc1(top))
        return torch.stack(rows)


class SEQ(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        F, H, L, C, K = (cfg[k] for k in ("features", "hidden", "layers", "context", "classes"))
        self.L, self.C = L, C
        self.encoder = Stack("lstm", F, H, L)
        self.mlp1 = OneFC(2 * L * H, 2 * L * C)
        self.fc1 = nn.Linear(C, K)

    def forward(self, x, n):
        rows = []
        for b in range(x.shape[0]):
            h, c = final_state(self.encoder, x[b, :int(n[b])])
            z = self.mlp1.fc1(state_vector(h, c))
            rows.append(self.fc1(top_context(z, self.L, self.C, 2)))
        return torch.stack(rows)


class AutoEnc(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        F, H, L, C = (cfg[k] for k in ("features", "hidden", "layers", "context"))
        self.F, self.H, self.L, self.k = F, H, L, cfg["k"]
        self.encoder = Stack("lstm", F, H, L)
        self.mlp1 = OneFC(2 * L * H, 2 * L * C)
        self.mlp2 = OneFC(2 * L * C, 2 * L * H)
        self.decoder = Decoder(F, H, L)

    def forward(self, x, n):
        """Reconstruction [B, k, F], zeros after each sample's n steps."""
        out = torch.zeros(x.shape[0], self.k, self.F)
        rows = []
        for b in range(x.shape[0]):
            nb = int(n[b])
            h, c = final_state(self.encoder, x[b, :nb])
            m = self.mlp2.fc1(self.mlp1.fc1(state_vector(h, c)))
            H = self.H
            h0 = torch.stack([m[l * 2 * H:l * 2 * H + H] for l in range(self.L)]).unsqueeze(1)
            c0 = torch.stack([m[l * 2 * H + H:(l + 1) * 2 * H] for l in range(self.L)]).unsqueeze(1)
            state = (h0, c0)
            inp = torch.zeros(1, 1, self.F)
            ys = []
            for _ in range(nb):
                o, state = self.decoder.rnn(inp, state)
                y = torch.relu(self.decoder.fc_out(o[0, 0]))
                ys.append(y)
                inp = y.view(1, 1, self.F)
            rows.append(torch.stack(ys))
        return rows

    def loss(self, x, n):
        rows = self.forward(x, n)
        total = sum(((r - x[b, :r.shape[0]]) ** 2).sum() for b, r in enumerate(rows))
        return total / (float(sum(int(v) for v in n)) * self.F)

    def recon(self, x, n):
        out = torch.zeros(x.shape[0], self.k, self.F)
        for b, r in enumerate(self.forward(x, n)):
            out[b, :r.shape[0]] = r
        return out


def build(arch, cfg):
    return {
        "mlp": lambda: MLP(cfg),
        "lstm": lambda: FWD(cfg, "lstm"),
        "gru": lambda: FWD(cfg, "gru"),
        "bilstm": lambda: BI(cfg, "lstm"),
        "bigru": lambda: BI(cfg, "gru"),
        "seq2seq": lambda: SEQ(cfg),
        "autoenc": lambda: AutoEnc(cfg),
    }[arch]()


def loss_of(model, arch, x, n, labels, weights):
    if arch == "autoenc":
        return model.loss(x, n)
    return Fn.cross_entropy(model(x, n), labels, weight=weights)

# ---------------------------------------------------------------- safetensors


def write_safetensors(path, tensors, meta):
    """tensors: list of (name, float32 tensor). Header padded to 8 bytes."""
    header = {"__metadata__": {k: str(v) for k, v in meta.items()}}
    blobs, off = [], 0
    for name, t in tensors:
        data = t.detach().to(torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)

# ---------------------------------------------------------------- fixtures


def small_cfg(arch):
    cfg = dict(k=5, features=2, hidden=5, layers=2, context=3, classes=4)
    if arch == "bigru":
        cfg.update(features=3, hidden=4, layers=3, context=2)  # direction feature, odd sizes
    if arch == "mlp":
        cfg.update(hidden=7, layers=3)
    if arch == "autoenc":
        cfg.update(classes=0)
    return cfg


ARCHS = ["mlp", "lstm", "bilstm", "seq2seq", "autoenc", "gru", "bigru"]
LENGTHS = [5, 3, 1, 5, 2, 4]


def randomize(model, gen, scale):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.rand(p.shape, generator=gen) * 2.0 - 1.0) * scale)


def inputs(cfg, gen, B):
    x = torch.rand(B, cfg["k"], cfg["features"], generator=gen)
    if cfg["features"] == 3:
        x[:, :, 2] = (x[:, :, 2] > 0.5).float()
    n = torch.tensor(LENGTHS[:B], dtype=torch.float32)
    K = max(cfg["classes"], 1)
    labels = torch.randint(0, K, (B,), generator=gen)
    weights = 0.5 + 1.5 * torch.rand(K, generator=gen)
    return x, n, labels, weights


def meta_of(arch, cfg, B, lr):
    m = dict(cfg)
    m.update(arch=arch, batch=B, lr=repr(lr), torch=torch.__version__)
    return m


def make_full(arch, outdir, seed):
    cfg = small_cfg(arch)
    gen = torch.Generator().manual_seed(seed)
    model = build(arch, cfg)
    randomize(model, gen, 0.6)
    B, lr = 6, 0.01
    x, n, labels, weights = inputs(cfg, gen, B)
    params = [(name, p.detach().clone()) for name, p in model.named_parameters()]

    model.zero_grad()
    loss = loss_of(model, arch, x, n, labels, weights)
    loss.backward()
    grads = [(name, p.grad.detach().clone()) for name, p in model.named_parameters()]
    with torch.no_grad():
        out = model.recon(x, n) if arch == "autoenc" else model(x, n)

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    adam = []
    for _ in range(3):
        opt.zero_grad()
        l = loss_of(model, arch, x, n, labels, weights)
        adam.append(l.item())
        l.backward()
        opt.step()
    with torch.no_grad():
        adam.append(loss_of(model, arch, x, n, labels, weights).item())

    tensors = [("param." + k, v) for k, v in params]
    tensors += [("x", x), ("n", n), ("labels", labels.float()), ("class_weights", weights)]
    tensors += [("recon" if arch == "autoenc" else "logits", out)]
    tensors += [("loss", loss.detach().reshape(1))]
    tensors += [("grad." + k, v) for k, v in grads]
    tensors += [("adam_losses", torch.tensor(adam, dtype=torch.float32))]
    write_safetensors(os.path.join(outdir, arch + ".safetensors"), tensors,
                      meta_of(arch, cfg, B, lr))


def formula_weights(model):
    """Weights both sides can compute: tensor i (in state_dict order),
    element e (row-major): amp * sin(0.731 e + 1.37 i + 0.5), amp =
    1.2 / sqrt(last dim of the tensor's weight), in double, then float32."""
    with torch.no_grad():
        for i, (name, p) in enumerate(model.named_parameters()):
            fan = p.shape[-1] if p.dim() == 2 else None
            if fan is None:  # a bias: the fan of the matching weight
                w = dict(model.named_parameters())[name.replace("bias", "weight")]
                fan = w.shape[-1]
            amp = 1.2 / math.sqrt(fan)
            e = torch.arange(p.numel(), dtype=torch.float64)
            v = amp * torch.sin(0.731 * e + 1.37 * i + 0.5)
            p.copy_(v.reshape(p.shape).to(torch.float32))


def make_seed_dims(arch, outdir, seed):
    cfg = dict(k=5, features=2, hidden=20, layers=3, context=3, classes=4)
    gen = torch.Generator().manual_seed(seed)
    model = build(arch, cfg)
    formula_weights(model)
    B = 6
    x, n, _, _ = inputs(cfg, gen, B)
    with torch.no_grad():
        logits = model(x, n)
    write_safetensors(os.path.join(outdir, "seed_" + arch + ".safetensors"),
                      [("x", x), ("n", n), ("logits", logits)], meta_of(arch, cfg, B, 0.0))

# ---------------------------------------------------------------- checkpoint


PP = dict(size_min=5.321928, size_max=10.55459, time_min=0.0, time_max=3.4594316)


def preprocess(sizes, times):
    s = (torch.log2(sizes.double()) - PP["size_min"]) / (PP["size_max"] - PP["size_min"])
    t = (torch.log2(times.double() + 1.0) - PP["time_min"]) / (PP["time_max"] - PP["time_min"])
    return torch.stack([s.clamp(0, 1), t.clamp(0, 1)], dim=-1).float()


def make_checkpoint(arch, outdir, seed):
    cfg = dict(k=5, features=2, hidden=20, layers=3, context=3, classes=4)
    gen = torch.Generator().manual_seed(seed)
    model = build(arch, cfg)
    randomize(model, gen, 0.3)
    B = 6
    sizes = torch.randint(40, 1500, (B, cfg["k"]), generator=gen).float()
    times = torch.rand(B, cfg["k"], generator=gen) * 2.0
    n = torch.tensor(LENGTHS[:B], dtype=torch.float32)
    with torch.no_grad():
        probs = torch.softmax(model(preprocess(sizes, times), n), dim=-1)
    torch.save(model.state_dict(), os.path.join(outdir, arch + ".pt"))
    meta = meta_of(arch, cfg, B, 0.0)
    meta.update({k: repr(v) for k, v in PP.items()})
    write_safetensors(os.path.join(outdir, arch + "-expect.safetensors"),
                      [("sizes", sizes), ("times", times), ("n", n), ("probs", probs)], meta)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", "--outdir", default=os.path.join(here, "..", "tests", "data", "parity"))
    ap.add_argument("--checkpoint", metavar="DIR",
                    help="write DIR/<arch>.pt + DIR/<arch>-expect.safetensors")
    ap.add_argument("--arch", default="all", choices=["all", "mlp", "lstm", "bilstm", "seq2seq"])
    args = ap.parse_args()
    if args.checkpoint:
        os.makedirs(args.checkpoint, exist_ok=True)
        for i, arch in enumerate(["mlp", "lstm", "bilstm", "seq2seq"]):
            if args.arch in ("all", arch):
                make_checkpoint(arch, args.checkpoint, 99 + i)
        return 0
    os.makedirs(args.outdir, exist_ok=True)
    for i, arch in enumerate(ARCHS):
        make_full(arch, args.outdir, 1000 + i)
        if arch != "autoenc":
            make_seed_dims(arch, args.outdir, 2000 + i)
    return 0


if __name__ == "__main__":
    sys.exit(main())
