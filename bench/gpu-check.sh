#!/bin/bash
# The device check of burn-cuda (`--features cuda`, issue 42) on an NVIDIA GPU, as one prepared
# script for the device machine (an H100 or H200 lent to some tasks: NVIDIA driver and PyTorch
# with CUDA installed, so libcuda and NVRTC are there; no Rust, no registry, no internet).
# Prepared here, where no CUDA toolkit is installed:
#   cargo build --release -p harbench --features cuda     # offline; vendor/cubecl-cuda/PATCH.md
#   mkdir -p .gl/data && echo /.gl/ >> .git/info/exclude
#   strip -o /tmp/h target/release/harbench && xz -T2 -6 -c /tmp/h > .gl/harbench.xz
#   cp ../shared/datasets/{uci-hapt,uci-har-meta}.* .gl/data/
# Run there with carry [".gl"] and timeout_s 590: bash bench/gpu-check.sh. Every step has its own
# timeout, so a slow one still leaves the others' numbers in $OUT; the totals fit ~9.5 minutes.
#
# What it measures (docs/models.md, "GPU"):
#   A    the first process: bench-train of the student, batch 64, which compiles (NVRTC) and
#        autotunes every kernel and leaves them in the kernel cache;
#   B-E  bench-train, second processes: student and teacher at batch 64 and 512;
#   P    PyTorch-CUDA's bench_train.py on the same four, same GPU (cuDNN autotuner on);
#   T    5 UCI-HAR epochs of the student, end to end;
#   J    suites/gpu-throughput.yaml (8 short runs) with --jobs 1, then --jobs 4: runs per hour;
#   N    harbench profile on the GPU with the meter picked automatically (NVML): energy per window.
# The Vulkan version of this check (sessions 24-25) is in git history and bench/results/gpu-h200-2026-12-04/.
exec > >(tee $OUT/log) 2>&1
python3 -c "import lzma,shutil;shutil.copyfileobj(lzma.open('.gl/harbench.xz'),open('/tmp/harbench','wb'))"; chmod +x /tmp/harbench
H=/tmp/harbench; R=$PWD
nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv,noheader
# NVRTC: the toolkit's, or PyTorch's wheel (nvidia-cuda-nvrtc); harbench names what it looked for if absent.
NVRTC=$(find / -xdev \( -name 'libnvrtc.so*' -o -name 'libnvrtc-builtins.so*' \) 2>/dev/null | grep -v stub | head -n 1)
[ -n "$NVRTC" ] && export LD_LIBRARY_PATH="$(dirname "$NVRTC")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "NVRTC: ${NVRTC:-not found}"
# One kernel cache for every process (docs/models.md, "Kernel cache"): the second and later
# processes, and the --jobs workers, start from the compiled kernels and autotune choices of the first.
mkdir -p /tmp/w && cd /tmp/w
printf '[environment]\npath = { directory = "/tmp/cubecl" }\n[compilation.logger]\nlevel = "basic"\nfile = "%s"\n[autotune.logger]\nlevel = "minimal"\nfile = "%s"\n' "$OUT/compile.log" "$OUT/autotune.log" > cubecl.toml
cp cubecl.toml $R/    # the suite runs (J) start in the checkout: same kernel cache
( while sleep 5; do echo "$(date +%T) $(nvidia-smi --query-gpu=utilization.gpu,memory.used,power.draw --format=csv,noheader) | cpu rss etime: $(ps -C harbench -o %cpu=,rss=,etime= | tr '\n' ' ')"; done > $OUT/sampler.log ) &
t0=$(date +%s)
step() { echo "== $1"; shift; timeout "$@"; echo "rc $? at $(( $(date +%s) - t0 )) s; $(grep -c '' $OUT/compile.log 2>/dev/null) kernels compiled so far"; }
STUDENT="--model mobilenetv3-small-1d --width 0.5"; TEACHER="--model mobilenetv3-large-1d --width 1"
B="--channels 9 --steps 10 --repeats 3"
step "A: student, batch 64, first process (compiles and tunes)" 150 $H bench-train --device cuda $STUDENT $B --batch-size 64 --json $OUT/a.json
step "B: student, batch 64, warm" 40 $H bench-train --device cuda $STUDENT $B --batch-size 64 --json $OUT/b-student-64.json
step "C: student, batch 512" 60 $H bench-train --device cuda $STUDENT $B --batch-size 512 --json $OUT/c-student-512.json
step "D: teacher, batch 64" 60 $H bench-train --device cuda $TEACHER $B --batch-size 64 --json $OUT/d-teacher-64.json
step "E: teacher, batch 512" 60 $H bench-train --device cuda $TEACHER $B --batch-size 512 --json $OUT/e-teacher-512.json
for m in "small-1d 0.5" "large-1d 1"; do for b in 64 512; do
    set -- $m
    step "P: PyTorch-CUDA mobilenetv3-$1 w$2 batch $b" 40 python3 $R/bench/reference/bench_train.py --model mobilenetv3-$1 --width $2 --channels 9 --batch-size $b --steps 10 --repeats 3 --threads 1 --device cuda | tee -a $OUT/pytorch.jsonl
done; done
export HARBENCH_DATA_MIRROR=$R/.gl/data HARBENCH_DATA_DIR=/tmp/data
$H data fetch uci-har > /dev/null && $H data prepare uci-har > /dev/null
step "T: the student on UCI-HAR, 5 epochs on the GPU (seed 0)" 60 $H train --dataset uci-har $STUDENT --epochs 5 --device cuda --out $OUT/train-cuda.json
for j in 1 4; do
    s=$(date +%s)
    (cd $R && step "J: suites/gpu-throughput.yaml, --jobs $j (from the checkout, which harbench run needs)" 90 $H run suites/gpu-throughput.yaml --device cuda --jobs $j --results /tmp/results-j$j)
    echo "jobs $j: $(ls /tmp/results-j$j/gpu-throughput/*/*/*.json 2>/dev/null | grep -vc machine.json) runs in $(( $(date +%s) - s )) s" | tee -a $OUT/throughput.txt
done
step "N: profile of the trained student on the GPU, energy from NVML" 60 $H profile $STUDENT --dataset uci-har --checkpoint $OUT/train-cuda.bpk --device cuda --meter auto --out $OUT/profile-cuda.json
echo "total $(( $(date +%s) - t0 )) s"
