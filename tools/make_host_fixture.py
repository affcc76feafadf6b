#!/usr/bin/python3
"""Fixtures for the tests of `earlyflow run` (tests/data/host/).

1. parity_bilstm_k5.safetensors + parity_flows.json

   A small BI (bilstm) model, k=5, 3 input features (size, time, direction),
   hidden 8, 2 layers, context 2, 3 classes, with random weights and
   preprocessing constants (seeded), written as an earlyflow model file, and
   a list of flows (integer IP packet sizes, integer microsecond
   inter-arrival times, directions, transport) with the class probabilities
   PyTorch computes for each flow on its first min(n, k) packets: flows of
   k packets or more get their verdict at the k-th packet, shorter ones at
   flow end on their prefix. The preprocessing is done here, in Python, the
   way core/nn/preproc.h and core/net/features.h define it, step by step
   in the same precision:
       iat_s = float32(iat_us / 1e6)                    (features: µs -> s)
       s     = float32(log2(double(size)))
       t     = float32(log2(double(iat_s) + 1))
       x     = float32(clip01((double(v) - lo) / (hi - lo)))   (lo, hi float32)
       dir   = 1 client -> server, else 0
   The tests (tests/unit/test_run_model.c) write these flows into a pcap with
   exactly these sizes and timestamps, run `earlyflow run` with the model
   file, and compare every EVE early event with the probabilities here.

2. steer_k{3,5,10,20}.safetensors + steer.json

   "Steering" models for rule tests: MLPs (k = 3, 5, 10, 20; one hidden unit)
   whose verdict depends only on the size of the flow's FIRST packet, so a
   test picks a flow's label (and roughly its score) by choosing that size.
   The hidden unit passes size' = (log2(size) - 5) / 6 through (ReLU of a
   value in [0, 1]); class c's logit is A * (2 m_c size' - m_c^2), so the
   class whose centre m_c is nearest to size' wins. steer.json lists each
   label's centre size and probe sizes with the label, score and
   probabilities PyTorch computes for them (the same for every k: later
   packets have zero weight).

Reuses tools/make_parity_fixtures.py (its module layouts and safetensors
writer). Deterministic: same torch version, same bytes.

  /usr/bin/python3 tools/make_host_fixture.py [-o tests/data/host]
"""
import argparse
import json
import math
import os
import random
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_parity_fixtures as mpf  # noqa: E402  (module layouts + writer)

TAXONOMY = ["Unlabeled", "HTTP", "Multi", "Alpha", "NetworkScan", "PortScan", "DoS",
            "IPv6Tunnel", "Other", "Unknown"]


def f32(v):
    return float(np.float32(v))


def fmt(v):
    """Metadata float: %.9g of the float32 value (round-trips exactly)."""
    return "%.9g" % f32(v)


def model_meta(arch, cfg, labels, pp, extra):
    meta = {
        "format": "earlyflow-model", "format_version": "1", "arch": arch,
        "k": str(cfg["k"]), "features": str(cfg["features"]), "hidden": str(cfg["hidden"]),
        "layers": str(cfg["layers"]), "context": str(cfg["context"]),
        "classes": str(cfg["classes"]), "labels": ",".join(labels),
        "size_min": fmt(pp["size_min"]), "size_max": fmt(pp["size_max"]),
        "time_min": fmt(pp["time_min"]), "time_max": fmt(pp["time_max"]),
        "use_dir": "1" if cfg["features"] == 3 else "0",
        "generator": "tools/make_host_fixture.py", "torch": torch.__version__,
    }
    meta.update(extra)
    return meta

# ---------------------------------------------------------------- preprocessing


def scale(v, lo, hi):
    """core/nn/preproc.c scale(): double arithmetic on float32 inputs."""
    lo, hi = float(np.float32(lo)), float(np.float32(hi))
    rng = hi - lo
    if not rng > 0.0:
        return 0.0
    x = (float(v) - lo) / rng
    if not x > 0.0:  # also NaN
        return 0.0
    return f32(x) if x < 1.0 else 1.0


def preprocess(pp, sizes, iats_us, dirs, use_dir):
    rows = []
    for size, iat_us, d in zip(sizes, iats_us, dirs):
        iat_s = np.float32(float(iat_us) / 1e6)
        s = np.float32(math.log2(float(np.float32(size))))
        t = np.float32(math.log2(float(iat_s) + 1.0))
        row = [scale(s, pp["size_min"], pp["size_max"]), scale(t, pp["time_min"], pp["time_max"])]
        if use_dir:
            row.append(1.0 if d else 0.0)
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float32)


def probabilities(model, pp, sizes, iats_us, dirs, k, use_dir):
    n = min(len(sizes), k)
    x = preprocess(pp, sizes[:n], iats_us[:n], dirs[:n], use_dir)
    xb = torch.zeros(1, k, x.shape[1])
    xb[0, :n] = x
    with torch.no_grad():
        logits = model(xb, torch.tensor([float(n)]))
        return torch.softmax(logits, dim=-1)[0].tolist()

# ---------------------------------------------------------------- 1. parity


PARITY_CFG = dict(k=5, features=3, hidden=8, layers=2, context=2, classes=3)
PARITY_LABELS = ["Unlabeled", "NetworkScan", "DoS"]
# Chosen so that small packets (UDP/IPv4 28-byte datagrams) and long gaps
# (> ~0.32 s) clip at 0 and 1: the clipping is part of what is compared.
PARITY_PP = dict(size_min=5.25, size_max=10.5, time_min=0.0, time_max=0.4)
# Packets per flow: shorter than k (verdict at flow end on the prefix),
# exactly k, and longer (verdict at the k-th packet).
PARITY_LENGTHS = [1, 2, 3, 4, 5, 5, 6, 7, 9, 12, 1, 2, 3, 4, 5, 8, 20, 25, 5, 3, 4, 6, 2, 10]
MIN_SIZE = {("udp", 4): 28, ("tcp", 4): 40, ("udp", 6): 48, ("tcp", 6): 60}


def parity_flows(rng):
    flows = []
    for i, n in enumerate(PARITY_LENGTHS):
        proto = "tcp" if i % 3 == 1 else "udp"
        ip = 6 if i % 5 == 3 else 4
        lo = MIN_SIZE[(proto, ip)]
        sizes, iats, dirs = [], [], []
        for j in range(n):
            r = rng.random()
            if r < 0.1:
                size = lo                     # smallest packet: clips at 0 for UDP/IPv4
            elif r < 0.15:
                size = 1500
            else:
                size = int(round(lo * (1500.0 / lo) ** rng.random()))
            if j == 0:
                iat = 0
            else:
                r = rng.random()
                if r < 0.1:
                    iat = 0                   # same timestamp as the previous packet
                elif r < 0.2:
                    iat = rng.randint(400000, 3000000)   # long gap: clips at 1
                else:
                    iat = int(round(10 ** rng.uniform(0, 5.3)))  # 1 µs .. 0.2 s
            sizes.append(size)
            iats.append(iat)
            dirs.append(1 if j == 0 else int(rng.random() < 0.5))
        flows.append(dict(proto=proto, ip=ip, sizes=sizes, iat_us=iats, dirs=dirs))
    return flows


def make_parity(outdir, seed):
    cfg = PARITY_CFG
    gen = torch.Generator().manual_seed(seed)
    model = mpf.build("bilstm", cfg)
    mpf.randomize(model, gen, 0.9)
    name = "parity_bilstm_k5.safetensors"
    tensors = [(n, p.detach()) for n, p in model.named_parameters()]
    mpf.write_safetensors(os.path.join(outdir, name), tensors,
                          model_meta("bilstm", cfg, PARITY_LABELS, PARITY_PP,
                                     {"seed": str(seed), "purpose": "host parity fixture"}))
    flows = parity_flows(random.Random(seed))
    for fl in flows:
        fl["probs"] = probabilities(model, PARITY_PP, fl["sizes"], fl["iat_us"], fl["dirs"],
                                    cfg["k"], True)
    doc = {
        "model": name, "k": cfg["k"], "labels": PARITY_LABELS,
        "preprocessing": {k: f32(v) for k, v in PARITY_PP.items()},
        "flows": flows,
    }
    with open(os.path.join(outdir, "parity_flows.json"), "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")

# ---------------------------------------------------------------- 2. steering


STEER_PP = dict(size_min=5.0, size_max=11.0, time_min=0.0, time_max=1.0)
# Each label's centre: the first-packet IP size that gives it with the
# highest score. Centres are ~0.1 apart in size' (log scale).
STEER_CENTRES = {"NetworkScan": 40, "PortScan": 60, "DoS": 100, "HTTP": 160,
                 "Unlabeled": 250, "Multi": 400, "Alpha": 640, "IPv6Tunnel": 1000,
                 "Other": 1400, "Unknown": 1900}
STEER_SHARPNESS = 400.0
# Probe sizes: every centre, plus sizes between centres (lower scores).
STEER_PROBES = sorted(set(list(STEER_CENTRES.values()) + [44, 48, 52, 70, 80, 126, 190]))


def steer_size_x(size):
    return scale(np.float32(math.log2(float(size))), STEER_PP["size_min"], STEER_PP["size_max"])


def make_steer_model(k):
    cfg = dict(k=k, features=2, hidden=1, layers=1, context=1, classes=len(TAXONOMY))
    model = mpf.build("mlp", cfg)
    with torch.no_grad():
        model.fc1.weight.zero_()
        model.fc1.weight[0, 0] = 1.0          # size' of the first packet
        model.fc1.bias.zero_()
        for c, label in enumerate(TAXONOMY):
            m = steer_size_x(STEER_CENTRES[label])
            model.fc2.weight[c, 0] = STEER_SHARPNESS * 2.0 * m
            model.fc2.bias[c] = -STEER_SHARPNESS * m * m
    return model, cfg


def make_steer(outdir):
    probes = {}
    for k in (3, 5, 10, 20):
        model, cfg = make_steer_model(k)
        name = "steer_k%d.safetensors" % k
        tensors = [(n, p.detach()) for n, p in model.named_parameters()]
        mpf.write_safetensors(os.path.join(outdir, name), tensors,
                              model_meta("mlp", cfg, TAXONOMY, STEER_PP,
                                         {"purpose": "host rule-test fixture: label from "
                                                     "the first packet's size"}))
        for size in STEER_PROBES:
            # one packet, and the same first packet followed by others: the
            # later packets must not matter
            p1 = probabilities(model, STEER_PP, [size], [0], [1], k, False)
            p2 = probabilities(model, STEER_PP, [size] + [1500] * (k - 1), [0] + [1000] * (k - 1),
                               [1] * k, k, False)
            assert max(abs(a - b) for a, b in zip(p1, p2)) < 1e-6
            c = max(range(len(p1)), key=lambda i: p1[i])
            entry = probes.setdefault(size, dict(size=size, label=TAXONOMY[c], score=p1[c],
                                                 probs=p1))
            assert entry["label"] == TAXONOMY[c] and abs(entry["score"] - p1[c]) < 1e-6
    for label, size in STEER_CENTRES.items():
        assert probes[size]["label"] == label, (label, probes[size])
    doc = {"labels": TAXONOMY, "centres": STEER_CENTRES,
           "probes": [probes[s] for s in STEER_PROBES]}
    with open(os.path.join(outdir, "steer.json"), "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", "--outdir", default=os.path.join(here, "..", "tests", "data", "host"))
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    make_parity(args.outdir, 4242)
    make_steer(args.outdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
