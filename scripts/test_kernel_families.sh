#!/usr/bin/env bash
# Runs the whole test suite once under each OpenBLAS kernel family this CPU supports
# (OPENBLAS_CORETYPE=Prescott, Sandybridge, Haswell, SkylakeX, Cooperlake), and prints one
# summary line per family. CI runs the suite once, in the environment as it is.
#   bash scripts/test_kernel_families.sh            # every supported family
#   bash scripts/test_kernel_families.sh Haswell    # just these
set -uo pipefail
cd "$(dirname "$0")/.."

flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for flag in "$@"; do [[ "$flags" == *" $flag "* ]] || return 1; done; }
if [ $# -gt 0 ]; then
    cores=("$@")
else
    cores=(Prescott)
    has avx && cores+=(Sandybridge)
    has avx2 fma && cores+=(Haswell)
    has avx512f avx512bw avx512dq avx512vl && cores+=(SkylakeX)
    has avx512f avx512bw avx512dq avx512vl avx512_bf16 && cores+=(Cooperlake)
fi

swift build -c release --build-tests >/dev/null || { echo "build failed"; exit 1; }
status=0
for core in "${cores[@]}"; do
    log=$(mktemp)
    OPENBLAS_CORETYPE=$core swift test -c release --disable-xctest --skip-build >"$log" 2>&1
    code=$?
    summary=$(grep -E "Test run with [0-9]+ tests" "$log" | tail -1)
    echo "$core (exit $code): ${summary:-no summary; see $log}"
    [ $code -eq 0 ] && rm -f "$log" || status=1
done
exit $status
