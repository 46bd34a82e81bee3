#!/usr/bin/env bash
# The long fuzzing run: the seeded mutation fuzzers of the safetensors reader and the PNG
# loader (Tests/TesseraTests/Segmentation/FuzzTests.swift), ITERATIONS inputs each
# (default 1 000 000), in a debug build with AddressSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
export TESSERA_FUZZ_ITERATIONS="${ITERATIONS:-1000000}"
swift test --disable-xctest --sanitize=address --scratch-path .build-asan --filter FuzzTests 2>&1 \
    | grep -E "fuzzing:|Test run|passed|failed|ERROR|AddressSanitizer"
