#!/bin/bash
# The first check of the `gpu` feature on an NVIDIA GPU, as one prepared script for the device
# machine (the H200 lent to some tasks; it has no Rust, no registry and no Vulkan loader).
# Prepared here (see /work/.library/device/README.md for the loaders):
#   echo /.gl/ >> .git/info/exclude; mkdir -p .gl/data
#   (cd .gl && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
#   cargo build --release -p harbench --features gpu      # ~20 min quiet, 86 min beside training
#   strip -o /tmp/h target/release/harbench && xz -T2 -6 -c /tmp/h > .gl/harbench.xz   # 129 MB -> 23 MB
#   cp ../shared/datasets/{uci-hapt,uci-har-meta}.* .gl/data/
# Run there with carry [".gl"]: bash bench/gpu-check.sh (about 5-8 minutes; every step has a timeout).
# It times bench-train on the GPU (the default models, then the paper's student at batches 64-2048),
# PyTorch's twin on CUDA (bench/reference/bench_train.py --device cuda) and a 5-epoch UCI-HAR
# training of the paper's student on the GPU and on flex, whose scores should agree to noise.
# One prepared device check of the `gpu` feature (session 23). Everything it prints goes to $OUT/log.
exec > >(tee $OUT/log) 2>&1
set -x
t0=$(date +%s)
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
ldconfig -p | grep -c libvulkan
ls /usr/local/nvidia/share/vulkan/icd.d/ /etc/vulkan/icd.d/ /usr/share/vulkan/icd.d/ 2>&1
[ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] && export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
python3 -c "import lzma,shutil;shutil.copyfileobj(lzma.open('.gl/harbench.xz'),open('/tmp/harbench','wb'))"; chmod +x /tmp/harbench
H=/tmp/harbench
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
lscpu | grep -E "Model name|^CPU\(s\)"
# 1. The default benchmark (student and teacher, width 1, 9x128 and 6x128, batch 64) on the GPU.
timeout 80 $H bench-train --device gpu --channels 9 --steps 10 --repeats 3 --json $OUT/gpu-default.json
# 2. The paper's student (width 0.5) at growing batches, GPU.
for b in 64 512 2048; do timeout 30 $H bench-train --device gpu --model mobilenetv3-small-1d --width 0.5 --channels 9 --batch-size $b --steps 10 --repeats 3 --json $OUT/gpu-student-b$b.json; done
# 3. PyTorch (CUDA) on the same steps.
cd bench/reference
for m in "mobilenetv3-small-1d 1.0 64" "mobilenetv3-large-1d 1.0 64" "mobilenetv3-small-1d 0.5 64" "mobilenetv3-small-1d 0.5 512" "mobilenetv3-small-1d 0.5 2048"; do
  set -- $m; timeout 30 python3 bench_train.py --device cuda --model $1 --width $2 --batch-size $3 --channels 9 --threads 16 --steps 10 --repeats 3
done | tee $OUT/torch-cuda.jsonl
cd ../..
# 4. The paper's student on UCI-HAR, 5 epochs, seed 0: GPU then flex (this host's 16 cores).
export HARBENCH_DATA_MIRROR=$PWD/.gl/data HARBENCH_DATA_DIR=/tmp/data
timeout 60 $H data fetch uci-har && timeout 60 $H data prepare uci-har
for d in gpu flex; do timeout 80 $H train --dataset uci-har --model mobilenetv3-small-1d --width 0.5 --epochs 5 --device $d --out $OUT/train-$d.json; done
echo "total $(( $(date +%s) - t0 )) s"
