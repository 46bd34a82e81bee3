#!/usr/bin/env bash
# Installs the Debian packages Tessera builds against: OpenBLAS (cblas), LAPACKE, libpng,
# libtiff, libjpeg-turbo (TurboJPEG), giflib, Open MPI (library and mpirun) and
# pkg-config. Idempotent; run as root (or with sudo) on Debian 12.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(libopenblas-dev liblapacke-dev libpng-dev libtiff-dev libturbojpeg0-dev libgif-dev libopenmpi-dev openmpi-bin pkg-config)

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: ${packages[*]} already installed"
    exit 0
fi

run_as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
echo "setup: installing ${missing[*]}"
run_as_root apt-get update -qq
run_as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
