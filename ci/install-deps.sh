#!/usr/bin/env bash
# System packages harbench builds against: HDF5 (hdf5-metno links Debian's libhdf5 1.10).
set -euo pipefail
if [ -f /usr/include/hdf5/serial/hdf5.h ] && command -v pkg-config >/dev/null; then
    exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends libhdf5-dev pkg-config >/dev/null
