#!/usr/bin/python3
"""Convert a PyTorch checkpoint of the seed's models into an earlyflow model file.

  /usr/bin/python3 tools/convert_torch.py CHECKPOINT.pt --arch {mlp,lstm,bilstm,seq2seq} \\
      -k K --labels L1,L2,... [--hidden H --layers N --context C] \\
      --size-min A --size-max B --time-min C --time-max D -o MODEL.safetensors

CHECKPOINT.pt is what torch.save(model.state_dict()) wrote for a model with
the seed's module layout (parameter names as in docs/models.md, e.g.
forward_lstm.rnn.weight_ih_l0, mlp1.fc1.weight, fc1.bias); a whole pickled
model, a {"state_dict": ...} wrapper and DataParallel "module." prefixes are
accepted too. gru, bigru and autoenc (SEQ pre-training) follow earlyflow's
names for them.

Dimensions are read from the tensors; --hidden/--layers/--context, when
given, must agree with them. k cannot be read from a recurrent model, hence
-k. The preprocessing constants are not part of a PyTorch checkpoint: they
are the global min/max of log2(size) and of log2(iat + 1) over the training
split (the seed's scheme, docs/model-file.md) and must be given.

Every expected tensor must be present with the expected shape and finite
values; what is missing or wrong is listed and nothing is written. Tensors
the architecture does not use are reported and left out. The output is
written to a temporary name and renamed. Exit status: 0 written, 1 refused,
2 usage error.
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys

ARCHS = ["mlp", "lstm", "bilstm", "seq2seq", "autoenc", "gru", "bigru"]
K_MAX = 20


def fail(msg):
    print("convert_torch: " + msg, file=sys.stderr)
    sys.exit(1)


def load_state_dict(path):
    import torch
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # a damaged or foreign file: say so, no traceback
        fail("%s: cannot load with torch.load: %s" % (path, e))
    if hasattr(obj, "state_dict") and callable(obj.state_dict):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        fail("%s: not a state_dict (a %s)" % (path, type(obj).__name__))
    sd = {}
    for k, v in obj.items():
        if not hasattr(v, "shape"):
            continue
        name = k[len("module."):] if k.startswith("module.") else k
        sd[name] = v.detach().to("cpu").float().contiguous()
    if not sd:
        fail("%s: no tensors in the checkpoint" % path)
    return sd


def stack_prefixes(arch):
    return {
        "lstm": ["encoder.rnn"], "gru": ["encoder.rnn"], "seq2seq": ["encoder.rnn"],
        "bilstm": ["forward_lstm.rnn", "backward_lstm.rnn"],
        "bigru": ["forward_gru.rnn", "backward_gru.rnn"],
        "autoenc": ["encoder.rnn", "decoder.rnn"], "mlp": [],
    }[arch]


def count_layers(sd, prefix):
    n = 0
    while "%s.weight_ih_l%d" % (prefix, n) in sd:
        n += 1
    return n


def infer_dims(sd, arch, args):
    """Dimensions from the tensors, checked against the options."""
    dims = {}
    gates = 3 if arch in ("gru", "bigru") else 4
    if arch == "mlp":
        if "fc1.weight" not in sd:
            fail("missing tensor fc1.weight (is this an mlp checkpoint?)")
        layers = 0
        while "fc%d.weight" % (layers + 2) in sd:
            layers += 1
        dims["layers"] = layers
        dims["hidden"] = sd["fc1.weight"].shape[0]
        inputs = sd["fc1.weight"].shape[1]
        if inputs % args.k:
            fail("fc1.weight has %d inputs, not a multiple of k=%d" % (inputs, args.k))
        dims["features"] = inputs // args.k
        dims["classes"] = sd["fc%d.weight" % (layers + 1)].shape[0]
        dims["context"] = args.context if args.context else 3
    else:
        prefix = stack_prefixes(arch)[0]
        w = "%s.weight_hh_l0" % prefix
        if w not in sd:
            fail("missing tensor %s (is this a %s checkpoint?)" % (w, arch))
        dims["hidden"] = sd[w].shape[1]
        dims["layers"] = count_layers(sd, prefix)
        dims["features"] = sd["%s.weight_ih_l0" % prefix].shape[1]
        per = 2 if gates == 4 else 1
        if "mlp1.fc1.weight" in sd:
            rows = sd["mlp1.fc1.weight"].shape[0]
            dims["context"] = rows // (per * dims["layers"]) if dims["layers"] else 0
        else:
            dims["context"] = args.context if args.context else 3
        if arch == "autoenc":
            dims["classes"] = 0
        elif "fc1.weight" in sd:
            dims["classes"] = sd["fc1.weight"].shape[0]
        else:
            fail("missing tensor fc1.weight")
    for opt in ("hidden", "layers", "context"):
        given = getattr(args, opt)
        if given is not None and given != dims[opt]:
            fail("--%s %d, but the checkpoint's tensors say %d" % (opt, given, dims[opt]))
    return dims


def expected_tensors(arch, k, d):
    """(name, shape) in earlyflow's order (core/nn/layout.c)."""
    F, H, L, C, K = d["features"], d["hidden"], d["layers"], d["context"], d["classes"]
    G = 3 if arch in ("gru", "bigru") else 4
    state = (2 if G == 4 else 1) * L
    out = []

    def linear(prefix, o, i):
        out.append((prefix + ".weight", [o, i]))
        out.append((prefix + ".bias", [o]))

    def rnn(prefix):
        for l in range(L):
            out.append(("%s.weight_ih_l%d" % (prefix, l), [G * H, H if l else F]))
            out.append(("%s.weight_hh_l%d" % (prefix, l), [G * H, H]))
            out.append(("%s.bias_ih_l%d" % (prefix, l), [G * H]))
            out.append(("%s.bias_hh_l%d" % (prefix, l), [G * H]))

    if arch == "mlp":
        for i in range(1, L + 2):
            linear("fc%d" % i, K if i == L + 1 else H, F * k if i == 1 else H)
    elif arch in ("lstm", "gru"):
        rnn("encoder.rnn")
        linear("fc1", K, H)
    elif arch in ("bilstm", "bigru"):
        for p in stack_prefixes(arch):
            rnn(p)
        linear("mlp1.fc1", state * C, state * H)
        linear("mlp2.fc1", state * C, state * H)
        linear("fc1", K, 2 * C)
    elif arch == "seq2seq":
        rnn("encoder.rnn")
        linear("mlp1.fc1", state * C, state * H)
        linear("fc1", K, C)
    elif arch == "autoenc":
        rnn("encoder.rnn")
        linear("mlp1.fc1", state * C, state * H)
        linear("mlp2.fc1", state * H, state * C)
        rnn("decoder.rnn")
        linear("decoder.fc_out", F, H)
    return out


def check_tensors(sd, expected):
    problems = []
    for name, shape in expected:
        if name not in sd:
            problems.append("missing tensor %s %s" % (name, shape))
            continue
        got = list(sd[name].shape)
        if got != shape:
            problems.append("tensor %s: shape %s, expected %s" % (name, got, shape))
            continue
        import torch
        if not torch.isfinite(sd[name]).all():
            problems.append("tensor %s holds NaN or infinite values" % name)
    if problems:
        fail("refusing to convert:\n  " + "\n  ".join(problems))
    wanted = {n for n, _ in expected}
    extra = sorted(k for k in sd if k not in wanted)
    if extra:
        print("convert_torch: ignored (not part of a model of this architecture): " +
              ", ".join(extra), file=sys.stderr)


def write_safetensors(path, tensors, meta):
    header = {"__metadata__": meta}
    blobs, off = [], 0
    for name, t in tensors:
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(struct.pack("<Q", len(h)))
            f.write(h)
            for b in blobs:
                f.write(b)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        fail("%s: %s" % (path, e))


def fmt(v):
    return repr(float(v))


def main():
    ap = argparse.ArgumentParser(
        description="Convert a PyTorch state_dict of the seed's models into an earlyflow model file.")
    ap.add_argument("checkpoint")
    ap.add_argument("--arch", required=True, choices=ARCHS)
    ap.add_argument("-k", type=int, required=True, help="packets per flow the model was trained on")
    ap.add_argument("--labels", required=True, help="class labels, comma-separated, in class order")
    ap.add_argument("--hidden", type=int)
    ap.add_argument("--layers", type=int)
    ap.add_argument("--context", type=int)
    for name in ("size-min", "size-max", "time-min", "time-max"):
        ap.add_argument("--" + name, type=float)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()

    if not 1 <= args.k <= K_MAX:
        fail("-k %d out of range 1..%d" % (args.k, K_MAX))
    pp = {n: getattr(args, n.replace("-", "_")) for n in ("size-min", "size-max", "time-min", "time-max")}
    missing = [n for n, v in pp.items() if v is None]
    if missing:
        fail("the preprocessing constants are not stored in a PyTorch checkpoint: give %s "
             "(min/max of log2(size) and of log2(iat+1) over the training split)"
             % ", ".join("--" + m for m in missing))
    if not all(math.isfinite(v) for v in pp.values()):
        fail("the preprocessing constants must be finite numbers")
    if pp["size-min"] > pp["size-max"] or pp["time-min"] > pp["time-max"]:
        fail("--size-min/--time-min must not be above --size-max/--time-max")
    labels = [l for l in args.labels.split(",")] if args.labels else []
    if any(not l or not l.strip() == l for l in labels):
        fail("--labels: empty label or surrounding spaces in %r" % args.labels)
    if len(set(labels)) != len(labels):
        fail("--labels: a label appears twice")

    sd = load_state_dict(args.checkpoint)
    dims = infer_dims(sd, args.arch, args)
    if dims["features"] not in (2, 3):
        fail("%d input features per step; earlyflow models have 2 (size, time) or 3 "
             "(+ direction)" % dims["features"])
    if args.arch != "autoenc" and len(labels) != dims["classes"]:
        fail("--labels names %d classes, the checkpoint's fc1 has %d outputs"
             % (len(labels), dims["classes"]))
    if args.arch == "autoenc":
        labels = []
    expected = expected_tensors(args.arch, args.k, dims)
    check_tensors(sd, expected)

    with open(args.checkpoint, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    meta = {
        "format": "earlyflow-model", "format_version": "1", "arch": args.arch,
        "k": str(args.k), "features": str(dims["features"]), "hidden": str(dims["hidden"]),
        "layers": str(dims["layers"]), "context": str(dims["context"]),
        "classes": str(dims["classes"]), "labels": ",".join(labels),
        "size_min": fmt(pp["size-min"]), "size_max": fmt(pp["size-max"]),
        "time_min": fmt(pp["time-min"]), "time_max": fmt(pp["time-max"]),
        "use_dir": "1" if dims["features"] == 3 else "0",
        "converted_from": os.path.basename(args.checkpoint), "source_sha256": digest,
        "converter": "tools/convert_torch.py",
    }
    write_safetensors(args.output, [(n, sd[n]) for n, _ in expected], meta)
    total = sum(sd[n].numel() for n, _ in expected)
    print("%s: %s, k=%d, %d parameters in %d tensors" % (args.output, args.arch, args.k, total,
                                                           len(expected)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
