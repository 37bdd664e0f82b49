#!/usr/bin/env bash
# Peak memory of a real `pmamba worker` (its parent process and sandboxed job processes) through
# one small run at 256²: round 0 (BatchNorm calibration, training steps, checkpoints) and the
# evaluations (untrained and trained). A coordinator (`pmamba train --local-workers 0`) drives
# it on a Redis under a unique prefix and a file store in a temporary folder; the worker's
# process tree is sampled every 0.2 s from /proc (RSS per process and their sum).
#
#   infra/measure/worker-memory.sh [PRESET] [BACKEND] [EVAL_BATCH]     # defaults: small wasm 8
#   REDIS_URL=redis://… infra/measure/worker-memory.sh reference wasm 8
#
# Needs a Redis (REDIS_URL, default redis://127.0.0.1:6379). docs/deploy.md ("Sizing") gives
# the numbers measured with it.
set -euo pipefail
preset=${1:-small}
backend=${2:-wasm}
eval_batch=${3:-8}
root=$(cd "$(dirname "$0")/../.." && pwd)
redis=${REDIS_URL:-redis://127.0.0.1:6379}
work=$(mktemp -d "${TMPDIR:-/tmp}/pmamba-worker-memory.XXXXXX")
prefix="pmamba-measure-$$-$RANDOM"
pmamba=(node "$root/packages/cli/bin/pmamba.mjs")
worker_pid=""
sampler_pid=""
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  [ -n "$worker_pid" ] && kill -TERM "$worker_pid" 2>/dev/null && wait "$worker_pid" 2>/dev/null || true
  # The run's BullMQ keys (finished jobs are kept a week otherwise).
  if command -v redis-cli >/dev/null; then
    redis-cli -u "$redis" --scan --pattern "$prefix:*" | xargs -r redis-cli -u "$redis" del >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/run.yaml" <<EOF
version: 1
run: { id: memory-$preset }
dataset:
  root: $work/data
  format: mvtec
  imageSize: 256
  synthetic: { classes: 1, size: 256, train: 8, test: 8, seed: 3 }
model: { preset: $preset }
training: { rounds: 1, localSteps: 4, batchSize: 1, workers: 1, checkpointEverySteps: 2 }
evaluation: { batchSize: $eval_batch, heatmaps: 1, reportFormats: [json] }
store: { url: file://$work/store }
EOF

"${pmamba[@]}" worker --redis "$redis" --prefix "$prefix" --store "file://$work/store" --backend "$backend" --concurrency 1 \
  2> "$work/worker.log" &
worker_pid=$!

# Sampler: the worker's process tree from /proc; prints peak RSS per process and of the sum.
python3 - "$worker_pid" > "$work/samples.txt" <<'PY' &
import os, sys, time
root = int(sys.argv[1])
peak_sum, peak = 0, {}
def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []
def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
def cmd(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[-90:]
    except OSError:
        return "?"
try:
    while os.path.exists(f"/proc/{root}"):
        tree, todo = [], [root]
        while todo:
            p = todo.pop()
            tree.append(p)
            todo.extend(children(p))
        total = 0
        for p in tree:
            r = rss_kib(p)
            total += r
            if r > peak.get(p, (0, ""))[0]:
                peak[p] = (r, cmd(p))
        peak_sum = max(peak_sum, total)
        time.sleep(0.2)
except KeyboardInterrupt:
    pass
finally:
    for p, (r, c) in sorted(peak.items()):
        print(f"pid {p}: peak RSS {r / 1024:.0f} MiB  {c}")
    print(f"worker process tree: peak RSS sum {peak_sum / 1024:.0f} MiB")
PY
sampler_pid=$!

start=$(date +%s)
(cd "$work" && "${pmamba[@]}" train -c "$work/run.yaml" --redis "$redis" --prefix "$prefix" --local-workers 0 --report "$work/report") \
  > "$work/train.out" 2> "$work/train.err" || { echo "train failed:"; tail -20 "$work/train.err"; tail -20 "$work/worker.log"; exit 1; }
echo "run finished in $(( $(date +%s) - start )) s (preset $preset, backend $backend, 256², train batch 1, evaluation batch $eval_batch)"
kill -TERM "$worker_pid"
wait "$worker_pid" 2>/dev/null || true
worker_pid=""
sleep 0.5
kill -INT "$sampler_pid" 2>/dev/null || true
wait "$sampler_pid" 2>/dev/null || true
sampler_pid=""
cat "$work/samples.txt"
grep -E "using the|backend" "$work/worker.log" | head -3 || true
