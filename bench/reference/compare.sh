#!/usr/bin/env bash
# burn vs PyTorch training throughput, one run: builds harbench (release), installs PyTorch into
# bench/.venv with pip on first use (not a dependency of the harness), then runs compare.py.
# Usage: bench/reference/compare.sh [--threads N] [compare.py options]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="${TORCH_VENV:-$root/bench/.venv}"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "torch==${TORCH_VERSION:-2.15.0}" numpy
fi
cargo build --release -p harbench --manifest-path "$root/Cargo.toml"
exec "$venv/bin/python" "$root/bench/reference/compare.py" --harbench "$root/target/release/harbench" --python "$venv/bin/python" "$@"
