#!/usr/bin/python3
"""PyTorch inference speed for the same workloads as bench/bench_inference.c.

Every classifier architecture at the seed's dimensions (k=5, 2 features,
hidden 20, 3 layers, context 3, 4 classes), one thread
(torch.set_num_threads(1)), no autograd, in the way a PyTorch deployment of
the seed's models would run them: the whole batch through nn.LSTM/nn.GRU at
once (all flows have k packets here, so no per-sample loop is needed), the
context layer computed per sample, preprocessing (log2, min/max scaling,
clip) and the softmax included, like earlyflow's measurement.

Output: one "arch=... kernel=torch batch=N us_per_flow=X" line per
measurement, the format bench/run-inference.sh reads. Time is the thread's
CPU time (time.thread_time), the best of several repetitions.

  /usr/bin/python3 tools/bench_torch_infer.py [--arch NAME] [--quick]
"""
import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_parity_fixtures as fx  # noqa: E402  (the seed's module layouts)

K_STEPS, CLASSES = 5, 4
PP = dict(size_min=5.321928, size_max=10.554589, time_min=0.0, time_max=1.5849625)


def preprocess(sizes, times):
    s = (torch.log2(sizes) - PP["size_min"]) / (PP["size_max"] - PP["size_min"])
    t = (torch.log2(times + 1.0) - PP["time_min"]) / (PP["time_max"] - PP["time_min"])
    return torch.stack([s.clamp(0, 1), t.clamp(0, 1)], dim=-1)


def state_vector(st, L):
    """Batched (h, c) of every layer -> [B, per * L * H], per sample."""
    if isinstance(st, tuple):
        h, c = st
        return torch.cat([torch.cat([h[l], c[l]], dim=1) for l in range(L)], dim=1)
    return torch.cat([st[l] for l in range(L)], dim=1)


def batched_forward(model, arch, x, cfg):
    """Logits for a batch of full-length flows x [B, k, F]."""
    L, C = cfg["layers"], cfg["context"]
    if arch == "mlp":
        a = x.reshape(x.shape[0], -1)
        for i in range(1, L + 1):
            a = torch.relu(getattr(model, "fc%d" % i)(a))
        return getattr(model, "fc%d" % (L + 1))(a)
    if arch in ("lstm", "gru"):
        _, st = model.encoder.rnn(x)
        h = st[0] if isinstance(st, tuple) else st
        return model.fc1(h[-1])
    per = 2 if arch in ("bilstm", "seq2seq") else 1
    top = slice((L - 1) * per * C, (L - 1) * per * C + C)
    if arch == "seq2seq":
        _, st = model.encoder.rnn(x)
        return model.fc1(model.mlp1.fc1(state_vector(st, L))[:, top])
    _, sf = getattr(model, model.fwd_name).rnn(x)
    _, sb = getattr(model, model.bwd_name).rnn(x.flip(1))
    zf = model.mlp1.fc1(state_vector(sf, L))[:, top]
    zb = model.mlp2.fc1(state_vector(sb, L))[:, top]
    return model.fc1(torch.cat([zf, zb], dim=1))


def measure(fn, budget, reps):
    fn()
    best = float("inf")
    for _ in range(reps):
        n, t0 = 0, time.thread_time()
        while True:
            fn()
            n += 1
            t = time.thread_time()
            if t - t0 >= budget:
                break
        best = min(best, (t - t0) / n)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    budget, reps = (0.05, 2) if args.quick else (0.3, 3)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = dict(k=K_STEPS, features=2, hidden=20, layers=3, context=3, classes=CLASSES)
    archs = ["mlp", "lstm", "bilstm", "seq2seq", "gru", "bigru"]
    for arch in archs:
        if args.arch and arch != args.arch:
            continue
        model = fx.build(arch, cfg).eval()
        for batch in (1, 64):
            sizes = torch.randint(40, 1500, (batch, K_STEPS)).float()
            times = torch.rand(batch, K_STEPS) * 2.0

            def run():
                with torch.no_grad():
                    return torch.softmax(batched_forward(model, arch, preprocess(sizes, times),
                                                         cfg), dim=-1)

            # the batched forward is the per-sample definition for full-length flows
            n = torch.full((batch,), float(K_STEPS))
            with torch.no_grad():
                ref = torch.softmax(model(preprocess(sizes, times), n), dim=-1)
            assert torch.allclose(run(), ref, atol=1e-5), arch
            sec = measure(run, budget, reps)
            print("arch=%s kernel=torch batch=%d us_per_flow=%.3f" % (arch, batch,
                                                                        sec * 1e6 / batch))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
