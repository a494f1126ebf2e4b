#!/bin/bash
# The device check of the `gpu` feature on an NVIDIA GPU, as one prepared script for the device
# machine (the H200 lent to some tasks; it has no Rust, no registry and no Vulkan loader).
# Prepared here (see /work/.library/device/README.md for the loaders):
#   echo /.gl/ >> .git/info/exclude; mkdir -p .gl/data
#   (cd .gl && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
#   cargo build --release -p harbench --features gpu      # ~20 min quiet, 86 min beside training
#   strip -o /tmp/h target/release/harbench && xz -T2 -6 -c /tmp/h > .gl/harbench.xz   # 129 MB -> 23 MB
#   cp ../shared/datasets/{uci-hapt,uci-har-meta}.* .gl/data/
# Run there with carry [".gl"] and timeout_s 580: bash bench/gpu-check.sh (at most ~9.5 minutes;
# session 25's A-C took 358 s).
#
# What session 24 (2026-12-04) saw with the first version of this check: every `--device gpu`
# command ran past its timeout (80 s, 150 s) with the GPU idle and one CPU core busy. CubeCL
# autotunes each new tensor shape by compiling every candidate kernel, and NVIDIA's Vulkan driver
# took 17-23 s to compile one large matmul or 1x1-convolution candidate (the autotune log). So
# this version gives the first process a long timeout (A), then times a second process that
# starts with the tuning choices and compiled shaders the first left in ~/.cache (B, C), with
# CubeCL's compile and autotune logs and a GPU/CPU sampler written to $OUT.
# Session 25 ran it to the end in 358 s (A 235 s, B 16 s, C 107 s); its outputs are in
# bench/results/gpu-h200-2026-12-04/ and the numbers in docs/models.md.
exec > >(tee $OUT/log) 2>&1
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
python3 -c "import lzma,shutil;shutil.copyfileobj(lzma.open('.gl/harbench.xz'),open('/tmp/harbench','wb'))"; chmod +x /tmp/harbench
H=/tmp/harbench; R=$PWD
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
# CubeCL reads cubecl.toml from the working directory.
mkdir -p /tmp/w && cd /tmp/w
printf '[compilation.logger]\nlevel = "basic"\nfile = "%s"\n[autotune.logger]\nlevel = "minimal"\nfile = "%s"\n' "$OUT/compile.log" "$OUT/autotune.log" > cubecl.toml
( while sleep 5; do echo "$(date +%T) $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader) | cpu rss etime: $(ps -C harbench -o %cpu=,rss=,etime= | tr '\n' ' ')"; done > $OUT/sampler.log ) &
t0=$(date +%s)
step() { echo "== $1"; shift; timeout "$@"; echo "rc $? at $(( $(date +%s) - t0 )) s; $(grep -c '' $OUT/compile.log 2>/dev/null) kernels compiled so far"; }
S="bench-train --device gpu --model mobilenetv3-small-1d --width 0.5 --channels 9 --batch-size 64 --steps 10 --repeats 3"
step "A: the paper's student, batch 64, first process (tunes and compiles)" 330 $H $S --json $OUT/a.json
step "B: the same, second process (warm caches)" 60 $H $S --json $OUT/b.json
export HARBENCH_DATA_MIRROR=$R/.gl/data HARBENCH_DATA_DIR=/tmp/data
$H data fetch uci-har > /dev/null && $H data prepare uci-har > /dev/null
step "C: the student on UCI-HAR, 5 epochs, on the GPU (seed 0)" 120 $H train --dataset uci-har --model mobilenetv3-small-1d --width 0.5 --epochs 5 --device gpu --out $OUT/train-gpu.json
# NVML energy has never been read on a GPU: the profile of the trained student on the GPU, with
# the meter picked automatically (NVML when the driver's libnvidia-ml is found; the report lists
# every meter's probe and why it was or was not used).
step "D: profile of the trained student on the GPU, energy from NVML" 120 $H profile --model mobilenetv3-small-1d --width 0.5 --dataset uci-har --checkpoint $OUT/train-gpu.bpk --device gpu --meter auto --out $OUT/profile-gpu.json
echo "total $(( $(date +%s) - t0 )) s"
