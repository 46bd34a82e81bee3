#!/usr/bin/env bash
# Coverage-guided fuzzing with libFuzzer and AddressSanitizer of the readers of untrusted
# input: the safetensors reader, the PNG loader, checkpoints (their metadata above all)
# and the command line's parsing and validation (Tests/Fuzz). RUNS inputs each (default
# 1 000 000), starting from the seeds in Tests/Fuzz/Corpus; the corpora grown go to
# .build-fuzz/corpus, any crashing input to .build-fuzz/findings. Exits non-zero on the
# first finding.
#     bash scripts/fuzz.sh                 # all four targets
#     RUNS=100000 bash scripts/fuzz.sh png  # one target, fewer inputs
#     ADDRESS_SANITIZER=0 bash scripts/fuzz.sh options   # coverage only: several times faster,
#                                           # for targets of pure Swift such as option parsing
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-1000000}"
targets=("${@:-safetensors png checkpoint options}")
read -r -a targets <<< "${targets[*]}"

# One -sanitize=fuzzer,address: given as two options (SwiftPM's --sanitize twice), the
# compiler kept only the last, and the code had no coverage counters. lld: gold drops the
# counters' section, and libFuzzer then sees no coverage either.
if [[ "${ADDRESS_SANITIZER:-1}" == 0 ]]; then
    build=(swift build --package-path Tests/Fuzz --scratch-path Tests/Fuzz/.build-coverage -c release --sanitize=fuzzer -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld)
else
    build=(swift build --package-path Tests/Fuzz -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld)
fi
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
    if ! "${build[@]}" --product "$executable" > ".build-fuzz/$target-build.log" 2>&1; then
        grep -E "error" ".build-fuzz/$target-build.log" >&2 || tail -5 ".build-fuzz/$target-build.log" >&2
        exit 1
    fi
    if ! readelf -S -W "$binaries/$executable" | grep -c __sancov_cntrs > /dev/null || ! nm -C "$binaries/$executable" | grep -c "fuzzer::FuzzerDriver" > /dev/null; then
        echo "fuzz: $executable was not built with libFuzzer and coverage counters" >&2
        exit 1
    fi
    mkdir -p ".build-fuzz/corpus/$target"
    # -timeout=60: an input runs in well under a second, but a fuzzer beside other work
    # can be held off the CPU for several seconds, which libFuzzer counts as a hang.
    echo "fuzz: $target, $runs inputs"
    start=$(date +%s)
    "$binaries/$executable" -runs="$runs" -max_len="$length" -rss_limit_mb=2048 -timeout=60 -print_final_stats=1 \
        -artifact_prefix=".build-fuzz/findings/$target-" ".build-fuzz/corpus/$target" "Tests/Fuzz/Corpus/$target" \
        2> ".build-fuzz/$target.log" || { tail -40 ".build-fuzz/$target.log"; exit 1; }
    done_line="$(grep -E "^#$runs[[:space:]]+DONE" ".build-fuzz/$target.log" | tail -1 || true)"
    if [[ -z "$done_line" ]]; then
        echo "fuzz: $target stopped before $runs inputs:" >&2
        tail -5 ".build-fuzz/$target.log" >&2
        exit 1
    fi
    echo "  $done_line; $(( $(date +%s) - start )) s, no crash"
done
