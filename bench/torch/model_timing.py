"""Times the PyTorch reference (../shared/reference/pmamba_ref.py) on the shapes of bench/model.bench.ts.

  /usr/bin/python3 bench/torch/model_timing.py --reference DIR --size 256 --batch 2 --what infer|train

Prints one JSON line: {"what", "size", "batch", "seconds", "threads", "torch"}. Its selective scan
is the sequential one MambaAD falls back to without CUDA. Benchmark-only: tests never run it.
"""
import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--what", choices=["infer", "train"], default="infer")
    ap.add_argument("--threshold", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: every core)")
    a = ap.parse_args()
    sys.path.insert(0, a.reference)
    import os
    import torch
    import pmamba_ref as pr
    torch.set_num_threads(a.threads or os.cpu_count())
    torch.manual_seed(0)
    model = pr.PyramidMamba(level3_threshold=a.threshold)
    x = pr.make_input(a.batch, a.size, 1)
    if a.what == "infer":
        model.eval()
        t0 = time.perf_counter()
        with torch.no_grad():
            ft, fs = model(x)
            pr.anomaly_map(ft, fs, a.size)
        seconds = time.perf_counter() - t0
    else:
        model.train()
        params = [p for n, p in model.named_parameters() if not n.startswith("net_t.")]
        opt = torch.optim.AdamW(params, lr=0.005 * a.batch / 16, betas=(0.9, 0.999), weight_decay=1e-4)
        t0 = time.perf_counter()
        ft, fs = model(x)
        loss = pr.training_loss(ft, fs)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        seconds = time.perf_counter() - t0
    print(json.dumps({"what": a.what, "size": a.size, "batch": a.batch, "seconds": round(seconds, 3),
                      "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
