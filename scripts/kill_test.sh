#!/usr/bin/env bash
# Crash safety: kills a training run with SIGKILL at random moments, KILLS times (default
# 20). After every kill each .safetensors in the run folder must validate (`tessera
# inspect`) and the run is continued with --resume. Finally the killed-and-resumed run's
# metrics must equal those of an uninterrupted run with the same seed (wall-clock seconds
# aside).
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${KILLS:-20}"
swift build -c release --product tessera >/dev/null
bin="$PWD/.build/release/tessera"
work="$(mktemp -d)"
args=(train --width 8 --depth 3 --epochs 110 --batch-size 4 --synthetic-count 48 --synthetic-size 64 --seed 11 --threads 2)

"$bin" "${args[@]}" --out "$work/reference" >/dev/null

RANDOM=42
for round in $(seq 1 "$kills"); do
    if [ -f "$work/run/last.safetensors" ]; then
        "$bin" "${args[@]}" --out "$work/run" --resume >/dev/null 2>&1 &
    else
        "$bin" "${args[@]}" --out "$work/run" >/dev/null 2>&1 &
    fi
    pid=$!
    sleep "$((RANDOM % 3)).$((RANDOM % 10))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    shopt -s nullglob
    files=("$work"/run/*.safetensors)
    if [ ${#files[@]} -gt 0 ]; then "$bin" inspect --quiet "${files[@]}"; fi
    leftovers=("$work"/run/.*.tmp-*)
    echo "kill $round: ${#files[@]} checkpoint file(s) valid, epoch $(grep -c '' "$work/run/metrics.csv" 2>/dev/null || echo 0) rows, ${#leftovers[@]} temporary file(s) left by the kill"
done

if [ -f "$work/run/last.safetensors" ]; then
    "$bin" "${args[@]}" --out "$work/run" --resume >/dev/null
else
    "$bin" "${args[@]}" --out "$work/run" >/dev/null
fi
if ! diff <(cut -d, -f3 --complement "$work/reference/metrics.csv") <(cut -d, -f3 --complement "$work/run/metrics.csv"); then
    echo "FAIL: resumed metrics differ from the uninterrupted run's" >&2
    exit 1
fi
echo "PASS: $kills kills; every checkpoint validated; resumed metrics equal the uninterrupted run's"

# A full disk: a file-size limit (32 KiB) below a checkpoint's size. The run must stop
# with an error and leave the checkpoints already written intact.
"$bin" "${args[@]}" --epochs 1 --out "$work/full" >/dev/null
before="$(sha256sum "$work"/full/*.safetensors)"
status=0
(ulimit -f 32; "$bin" "${args[@]}" --epochs 2 --out "$work/full" --overwrite >/dev/null 2>"$work/full.err") || status=$?
after="$(sha256sum "$work"/full/*.safetensors)"
"$bin" inspect --quiet "$work"/full/*.safetensors
if [ "$status" -eq 1 ] && grep -q "File too large" "$work/full.err" && [ "$before" = "$after" ]; then
    echo "PASS: disk full → exit 1, '$(head -c 160 "$work/full.err")', earlier checkpoints intact"
else
    echo "FAIL: disk full gave status $status: $(cat "$work/full.err")" >&2
    exit 1
fi
