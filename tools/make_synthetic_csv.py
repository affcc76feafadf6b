#!/usr/bin/python3
"""Write a synthetic first-k dataset CSV in the seed's format (a fixture).

Four classes named like the seed's config (Unlabeled, HTTP, Alpha, Multi)
with overlapping, order-dependent packet patterns, plus label noise, so the
models have something to learn and cannot all reach F1 = 1. This is NOT
MAWILab data: it exists to compare training code paths (earlyflow in C vs a
PyTorch reference) on the same file and protocol.

usage: make_synthetic_csv.py -k 5 --rows 2000,2000,2000,2000 --seed 1 -o OUT.csv
       [--noise 0.05] [--dirs]   (--dirs adds a 'dirs' column)
"""
import argparse
import math
import random

LABELS = ["Unlabeled", "HTTP", "Alpha", "Multi"]


def lognormal_time(rng, mu, sigma):
    return min(rng.lognormvariate(mu, sigma), 30.0)


def web_flow(rng, k, server_delay):
    """Handshake, request, response: the order carries the signal."""
    sizes = [60, 52, rng.randint(300, 700)] + [rng.choice([1500, 1500, 52, rng.randint(200, 1500)])
                                              for _ in range(max(0, k - 3))]
    times = [0.0, lognormal_time(rng, -4, 1.0), lognormal_time(rng, -6, 1.0)]
    times += [lognormal_time(rng, server_delay if i == 0 else -7, 1.2) for i in range(max(0, k - 3))]
    dirs = [1, 0, 1] + [0 if s > 100 else 1 for s in sizes[3:]]
    return sizes[:k], times[:k], dirs[:k]


def flow(rng, label, k):
    if label == "Unlabeled":
        if rng.random() < 0.5:
            return web_flow(rng, k, -3.0)
        sizes = [rng.randint(40, 1500) for _ in range(k)]
        times = [0.0] + [lognormal_time(rng, -3, 1.5) for _ in range(k - 1)]
        dirs = [rng.randint(0, 1) for _ in range(k)]
        return sizes, times, dirs
    if label == "HTTP":
        sizes, times, dirs = web_flow(rng, k, -1.5)  # a slower server answer
        if rng.random() < 0.3:                       # sometimes a second request first
            i = min(2, k - 1)
            sizes[i] = rng.randint(700, 1200)
        return sizes, times, dirs
    if label == "Alpha":
        sizes = [1500 if rng.random() < 0.8 else 52 for _ in range(k)]
        sizes[0] = rng.choice([60, 1500])
        times = [0.0] + [lognormal_time(rng, -8, 1.0) for _ in range(k - 1)]
        dirs = [1 if s == 1500 else 0 for s in sizes]
        return sizes, times, dirs
    # Multi: small probes at a steady pace
    sizes = [rng.randint(40, 80) for _ in range(k)]
    if rng.random() < 0.2:
        sizes[-1] = rng.randint(40, 1500)
    times = [0.0] + [rng.uniform(0.0, 1.0) for _ in range(k - 1)]
    dirs = [1] * k
    return sizes, times, dirs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--rows", default="2000,2000,2000,2000",
                    help="rows per class: Unlabeled,HTTP,Alpha,Multi")
    ap.add_argument("--noise", type=float, default=0.05, help="share of rows with a random label")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dirs", action="store_true")
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    counts = [int(c) for c in a.rows.split(",")]
    if len(counts) != len(LABELS) or a.k < 3:
        ap.error("--rows needs 4 counts and k >= 3")
    rng = random.Random(a.seed)
    rows = []
    for label, count in zip(LABELS, counts):
        for _ in range(count):
            sizes, times, dirs = flow(rng, label, a.k)
            shown = rng.choice(LABELS) if rng.random() < a.noise else label
            rows.append((sizes, times, dirs, shown))
    rng.shuffle(rows)
    with open(a.output, "w") as f:
        head = [f"pktSize{i}" for i in range(1, a.k + 1)] + [f"pktTime{i}" for i in range(1, a.k + 1)]
        head += ["c2s"] + (["dirs"] if a.dirs else []) + ["taxonomy label"]
        f.write(",".join(head) + "\n")
        for sizes, times, dirs, label in rows:
            cells = [str(s) for s in sizes] + [f"{t:.6f}" for t in times] + [str(sum(dirs))]
            if a.dirs:
                cells.append("".join(str(d) for d in dirs))
            cells.append(label)
            f.write(",".join(cells) + "\n")


if __name__ == "__main__":
    main()
