"""Times the PyTorch reference (../shared/reference/pmamba_ref.py) on the shapes of bench/model.bench.ts.

  /usr/bin/python3 bench/torch/model_timing.py --reference DIR --size 256 --batch 2 --what infer|train|flops
                   [--scan fast|sequential] [--threads N] [--warmup 1] [--repeats 1]

Prints one JSON line: {"what", "size", "batch", "scan", "seconds", "threads", "torch", "blas", "max_rss_kib", ...}.
--scan fast (default) installs torch_fast_scan (same folder as pmamba_ref.py: a custom autograd Function, one
in-place update per step), the fair CPU baseline; --scan sequential keeps the reference's sequential scan (what
MambaAD falls back to without CUDA: a strawman, whose autograd needs tens of minutes at 256²).
`seconds` is the fastest of `--repeats` passes after `--warmup` untimed ones (default 1: the fast scan's buffer
pool is then allocated, as pmamba's bench warms up too). `max_rss_kib` is resource.getrusage(RUSAGE_SELF).ru_maxrss (KiB on Linux)
at the end: this process's peak resident memory.
--what flops: one training step's FLOPs of convolutions and matrix products (aten convolution /
convolution_backward / mm / addmm / bmm / baddbmm, 2 per multiply-add), counted with a TorchDispatchMode,
split teacher forward / student forward / backward; plus the selective scan's state updates (b·k·d·n·l per
call; its elementwise work is not in the FLOPs). Benchmark-only: tests never run this file.
"""
import argparse
import json
import os
import resource
import sys
import time
from collections import defaultdict


def blas_library():
    """The BLAS shared library this process loaded (after torch ran a product)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
    for p in sorted(paths):
        if "openblas" in p.lower():
            return p
    return sorted(paths)[0] if paths else "unknown"


def count_flops(torch, pr, model, x, params):
    from torch.utils._python_dispatch import TorchDispatchMode
    aten = torch.ops.aten
    phase = ["teacher"]
    flops = defaultdict(lambda: defaultdict(int))  # phase -> op -> flops

    def conv_flops(out_numel, weight):
        k = 1
        for s in weight.shape[1:]:
            k *= s
        return 2 * out_numel * k

    class Counter(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            p = flops[phase[0]]
            if func is aten.convolution.default:
                inp, w, transposed = args[0], args[1], args[6]
                p["convolution"] += conv_flops(inp.numel() if transposed else out.numel(), w)
            elif func is aten.convolution_backward.default:
                gy, w, mask = args[0], args[2], args[10]
                f = conv_flops(gy.numel(), w)
                p["convolution (grad input)"] += f if mask[0] else 0
                p["convolution (grad weight)"] += f if mask[1] else 0
            elif func in (aten.mm.default, aten.addmm.default):
                a, b = (args[0], args[1]) if func is aten.mm.default else (args[1], args[2])
                p["mm"] += 2 * a.shape[0] * a.shape[1] * b.shape[1]
            elif func in (aten.bmm.default, aten.baddbmm.default):
                a, b = (args[0], args[1]) if func is aten.bmm.default else (args[1], args[2])
                p["bmm"] += 2 * a.shape[0] * a.shape[1] * a.shape[2] * b.shape[2]
            return out

    scan_updates = defaultdict(int)
    inner = pr.selective_scan

    def counting_scan(u, delta, A, B, C, D, delta_bias, *a, **k):
        b, kk, d, L = u.shape
        scan_updates[phase[0]] += b * kk * d * A.shape[-1] * L
        return inner(u, delta, A, B, C, D, delta_bias, *a, **k)

    pr.selective_scan = counting_scan
    try:
        with Counter():
            with torch.no_grad():
                feats_t = model.net_t(x)
            phase[0] = "student_forward"
            feats_s = model.net_s(model.mff_oce(feats_t))
            loss = pr.training_loss(feats_t, feats_s)
            phase[0] = "backward"
            loss.backward()
    finally:
        pr.selective_scan = inner
    by_phase = {ph: sum(ops.values()) for ph, ops in flops.items()}
    return {"flops": sum(by_phase.values()), "flops_by_phase": by_phase,
            "flops_by_op": {ph: dict(ops) for ph, ops in flops.items()},
            "scan_state_updates": dict(scan_updates)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--what", choices=["infer", "train", "flops"], default="infer")
    ap.add_argument("--scan", choices=["fast", "sequential"], default="fast")
    ap.add_argument("--threshold", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: every core)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed passes before the timed one")
    ap.add_argument("--repeats", type=int, default=1, help="timed passes; seconds is the fastest")
    a = ap.parse_args()
    sys.path.insert(0, a.reference)
    import torch
    import pmamba_ref as pr
    if a.scan == "fast":
        import torch_fast_scan
        torch_fast_scan.patch(pr)
    torch.set_num_threads(a.threads or os.cpu_count())
    torch.manual_seed(0)
    model = pr.PyramidMamba(level3_threshold=a.threshold)
    x = pr.make_input(a.batch, a.size, 1)
    result = {}
    if a.what == "infer":
        model.eval()

        def run():
            with torch.no_grad():
                ft, fs = model(x)
                pr.anomaly_map(ft, fs, a.size)
    else:
        model.train()
        params = [p for n, p in model.named_parameters() if not n.startswith("net_t.")]
        opt = torch.optim.AdamW(params, lr=0.005 * a.batch / 16, betas=(0.9, 0.999), weight_decay=1e-4)

        def run():
            ft, fs = model(x)
            loss = pr.training_loss(ft, fs)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
    if a.what == "flops":
        result = count_flops(torch, pr, model, x, params)
        seconds = None
    else:
        for _ in range(a.warmup):
            run()
        seconds = float("inf")
        for _ in range(max(1, a.repeats)):
            t0 = time.perf_counter()
            run()
            seconds = min(seconds, round(time.perf_counter() - t0, 3))
    print(json.dumps({"what": a.what, "size": a.size, "batch": a.batch, "scan": a.scan, "seconds": seconds,
                      "threads": torch.get_num_threads(), "torch": torch.__version__, "blas": blas_library(),
                      "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, **result}))


if __name__ == "__main__":
    main()
