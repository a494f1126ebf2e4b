#!/usr/bin/env bash
# What portable numerics cost in speed (docs/results.md, "Portable numerics"): compare.py for the
# default (portable) release build and the native-kernels one, interleaved in one run on one
# machine, then each build's samples/s against the other and against PyTorch.
# A shared VM's neighbours swing single medians by tens of per cent, so the two builds are then
# timed interleaved (ROUNDS rounds of bench-train, default 4) and compared on each build's best
# repeat, the value least disturbed by them.
# Usage: bench/numerics-cost.sh [OUT_DIR]   (needs bench/.venv with torch: see compare.sh)
# NATIVE_TARGET_DIR keeps the second build apart (default target/native-kernels).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/bench/results/numerics-cost-$(date +%Y-%m-%d)}"
native_dir="${NATIVE_TARGET_DIR:-$root/target/native-kernels}"
venv="${TORCH_VENV:-$root/bench/.venv}"
mkdir -p "$out"
cargo build --release -p harbench --manifest-path "$root/Cargo.toml"
CARGO_TARGET_DIR="$native_dir" cargo build --release -p harbench --features native-kernels --manifest-path "$root/Cargo.toml"
lscpu > "$out/lscpu.txt"
for threads in 1 2; do
    for build in portable native; do
        bin="$root/target/release/harbench"
        [ "$build" = native ] && bin="$native_dir/release/harbench"
        echo "== $build, $threads thread(s)"
        "$venv/bin/python" "$root/bench/reference/compare.py" --harbench "$bin" --python "$venv/bin/python" \
            --threads "$threads" --width 0.5 --channels 9 --teacher-width 0.5 --json "$out/$build-t$threads.json"
    done
done
"$venv/bin/python" - "$out" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print(f"\n{'row':<44} {'threads':>7} {'portable':>9} {'native':>9} {'portable/native':>15} {'portable/torch':>14} {'native/torch':>12}")
for t in (1, 2):
    p, n = (json.load(open(out / f"{b}-t{t}.json")) for b in ("portable", "native"))
    for rp, rn in zip(p["training"], n["training"]):
        torch = (rp["torch_samples_per_second"] + rn["torch_samples_per_second"]) / 2
        a, b = rp["burn_samples_per_second"], rn["burn_samples_per_second"]
        print(f"{'train ' + rp['model']:<44} {t:>7} {a:>9.0f} {b:>9.0f} {a / b:>15.3f} {a / torch:>14.2f} {b / torch:>12.2f}")
    for rp, rn in zip(p["distillation"], n["distillation"]):
        for key, label in (("burn_every_step", "teacher every step"), ("burn_cached", "teacher cached")):
            a, b = rp[key], rn[key]
            torch = rp["torch_every_step"]
            rel = lambda x: f"{x / torch:.2f}" if torch else "—"
            print(f"{rp['method'] + ', ' + label:<44} {t:>7} {a:>9.0f} {b:>9.0f} {a / b:>15.3f} {rel(a):>14} {rel(b):>12}")
print("samples/s, medians of compare.py; torch: PyTorch in the same run (mean of its two runs for training rows)")
PY

rounds="${ROUNDS:-4}"
mkdir -p "$out/interleaved"
for round in $(seq "$rounds"); do
    for threads in 1 2; do
        for model in mobilenetv3-small-1d mobilenetv3-large-1d; do
            for build in portable native; do
                bin="$root/target/release/harbench"
                [ "$build" = native ] && bin="$native_dir/release/harbench"
                RAYON_NUM_THREADS=$threads "$bin" bench-train --model "$model" --width 0.5 --channels 9 --steps 20 --repeats 5 \
                    --json "$out/interleaved/$build-$model-t$threads-r$round.json" > /dev/null
            done
        done
    done
done
python3 - "$out/interleaved" <<'PY'
import json, sys, pathlib
best = {}
for f in pathlib.Path(sys.argv[1]).glob("*.json"):
    build, rest = f.stem.split("-", 1)
    model, threads, _ = rest.rsplit("-", 2)
    rate = json.load(open(f))["runs"][0]["result"]["max"]
    key = (model, threads, build)
    best[key] = max(best.get(key, 0.0), rate)
print(f"\n{'model':<22} {'threads':>7} {'portable best':>13} {'native best':>11} {'portable/native':>15}")
for model, threads in sorted({(m, t) for m, t, _ in best}):
    p, n = best[(model, threads, "portable")], best[(model, threads, "native")]
    print(f"{model:<22} {threads[1:]:>7} {p:>13.0f} {n:>11.0f} {p / n:>15.3f}")
print("samples/s: the best repeat of each build over the interleaved rounds")
PY
