#!/usr/bin/env bash
# What each ingredient of the training recipe buys on a dataset: trains the full recipe,
# the recipe with each ingredient switched off in turn, and the standard recipe, all with
# the same seed and time budget, then evaluates each best checkpoint on the validation
# folder (with and without test-time augmentation) and prints a Markdown table.
#
# Each run gets THREADS_PER_RUN cores of its own (taskset), and as many runs as the
# process's cores allow go at once, so that runs never share a core.
#
#   bash scripts/recipe_ablation.sh                                     # 8 runs, 15 min each, one core each
#   THREADS_PER_RUN=2 CONFIGS="recipe standard" bash scripts/recipe_ablation.sh
#
# Variables: DATA (a folder with train/ and val/, default data/isbi2012), MINUTES
# (default 15), SEED (default 0), OUT (default runs/ablation), TESSERA (default
# .build/release/tessera), CONFIGS (names from the list below, default all).
set -euo pipefail

DATA=${DATA:-data/isbi2012}
MINUTES=${MINUTES:-15}
SEED=${SEED:-0}
OUT=${OUT:-runs/ablation}
TESSERA=${TESSERA:-.build/release/tessera}
THREADS_PER_RUN=${THREADS_PER_RUN:-1}

recipe=(--elastic --rotate --scale --intensity --border-weight 10 --schedule poly)
without() { local skip=("$@") kept=() i=0; while ((i < ${#recipe[@]})); do
    local option=${recipe[i]} width=1
    [[ $option == --border-weight || $option == --schedule ]] && width=2
    [[ " ${skip[*]} " == *" $option "* ]] || kept+=("${recipe[@]:i:width}")
    ((i += width)); done; echo "${kept[*]}"; }

declare -A options=(
    [standard]=""
    [recipe]="${recipe[*]}"
    [no-elastic]="$(without --elastic)"
    [no-rotate]="$(without --rotate)"
    [no-scale]="$(without --scale)"
    [no-intensity]="$(without --intensity)"
    [no-border-weight]="$(without --border-weight)"
    [no-poly]="$(without --schedule)"
)
order=(recipe no-elastic no-rotate no-scale no-intensity no-border-weight no-poly standard)
read -r -a chosen <<< "${CONFIGS:-${order[*]}}"
for name in "${chosen[@]}"; do
    [[ -v "options[$name]" ]] || { echo "recipe_ablation.sh: unknown configuration '$name' (known: ${order[*]})" >&2; exit 2; }
done

[[ -x $TESSERA ]] || { echo "recipe_ablation.sh: $TESSERA not found; run swift build -c release first" >&2; exit 2; }
mapfile -t cores < <(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | awk -F- '{ if (NF == 2) for (c = $1; c <= $2; c++) print c; else print $1 }')
slots=$(( ${#cores[@]} / THREADS_PER_RUN ))
((slots >= 1)) || { echo "recipe_ablation.sh: THREADS_PER_RUN=$THREADS_PER_RUN but only ${#cores[@]} cores" >&2; exit 2; }
mkdir -p "$OUT"

# Slot s runs on cores s·T … s·T + T − 1; runs are dealt to the slots in turn.
declare -a slot_pid
run() {
    local name=$1 slot=$2
    local set; set=$(IFS=,; echo "${cores[*]:slot * THREADS_PER_RUN:THREADS_PER_RUN}")
    echo "$(date +%T) $name on cores $set: ${options[$name]:-(standard recipe)}"
    # shellcheck disable=SC2086
    taskset -c "$set" "$TESSERA" train --data "$DATA/train" --val "$DATA/val" --time-limit "$MINUTES" \
        --seed "$SEED" --threads "$THREADS_PER_RUN" --out "$OUT/$name" --overwrite ${options[$name]} \
        > "$OUT/$name.log" 2>&1
}
next=0
for name in "${chosen[@]}"; do
    slot=$((next % slots))
    if [[ -n ${slot_pid[slot]:-} ]]; then wait "${slot_pid[slot]}"; fi
    run "$name" "$slot" & slot_pid[slot]=$!
    next=$((next + 1))
done
wait

measure() { "$TESSERA" evaluate --model "$OUT/$1/best.safetensors" --data "$DATA/val" "${@:2}" \
    | awk '/^Dice/ { printf "%s | %s", $7, $2 }'; }
echo
echo "| configuration | steps | pixel accuracy | Dice | with --tta: accuracy | Dice |"
echo "|---|---:|---:|---:|---:|---:|"
for name in "${chosen[@]}"; do
    steps=$(tail -n 1 "$OUT/$name/metrics.csv" | cut -d, -f2)
    echo "| $name | $steps | $(measure "$name") | $(measure "$name" --tta) |"
done
