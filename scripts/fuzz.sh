#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer and AddressSanitizer of the readers of untrusted
# input: the safetensors reader, the PNG loader, checkpoints (their metadata above all)
# and the command line's parsing and validation (Tests/Fuzz). RUNS inputs each (default
# 1 000 000), starting from the seeds in Tests/Fuzz/Corpus; the corpora grown go to
# .build-fuzz/corpus, any crashing input to .build-fuzz/findings. Exits non-zero on the
# first finding.
#     bash scripts/fuzz.sh                 # all four targets
#     RUNS=100000 bash scripts/fuzz.sh png  # one target, fewer inputs
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-1000000}"
targets=("${@:-safetensors png checkpoint options}")
read -r -a targets <<< "${targets[*]}"

# lld: gold drops the coverage counters' section, and libFuzzer then sees no coverage.
build=(swift build --package-path Tests/Fuzz -c release --sanitize=fuzzer --sanitize=address -Xswiftc -use-ld=lld)
"${build[@]}" 2>&1 | grep -E "error|Build" || true
binaries="$("${build[@]}" --show-bin-path)"
mkdir -p .build-fuzz/findings

for target in "${targets[@]}"; do
    case "$target" in
        safetensors) executable=FuzzSafeTensors; length=8192 ;;
        png) executable=FuzzPNG; length=4096 ;;
        checkpoint) executable=FuzzCheckpoint; length=16384 ;;
        options) executable=FuzzOptions; length=512 ;;
        *) echo "fuzz: unknown target $target (safetensors, png, checkpoint, options)" >&2; exit 2 ;;
    esac
    mkdir -p ".build-fuzz/corpus/$target"
    echo "fuzz: $target, $runs inputs"
    start=$(date +%s)
    "$binaries/$executable" -runs="$runs" -max_len="$length" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix=".build-fuzz/findings/$target-" ".build-fuzz/corpus/$target" "Tests/Fuzz/Corpus/$target" \
        2> ".build-fuzz/$target.log" || { tail -40 ".build-fuzz/$target.log"; exit 1; }
    echo "  $(grep -E '^#[0-9]+[[:space:]]+DONE' ".build-fuzz/$target.log" | tail -1); $(( $(date +%s) - start )) s, no crash"
done
