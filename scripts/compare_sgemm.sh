#!/usr/bin/env bash
# sgemm GFLOP/s through Tessera's Swift wrapper versus a C program calling the same
# OpenBLAS, interleaved (C, Swift, C, Swift) so machine drift hits both.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${THREADS:-2}"
sizes="${SIZES:-256 1024 2048}"
reference="$(mktemp -d)/sgemm_reference"
gcc -O2 $(pkg-config --cflags openblas) scripts/sgemm_reference.c -o "$reference" $(pkg-config --libs openblas)
swift build -c release --product tessera >/dev/null
for round in 1 2; do
    echo "== round $round"
    "$reference" "$threads" $sizes
    .build/release/tessera bench gemm --threads "$threads" --sizes "$(echo $sizes | tr ' ' ',')"
done
