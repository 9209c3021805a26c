#!/usr/bin/env bash
# Rebuild the WikiText-2 proxy's vanilla row from nothing (results/README.md, sections 41-52): four
# vanilla 2 x 512 teachers, two at a time, then the vanilla 3 x 1536 student of theirs on the variant's
# long recipe with its cosine decayed to zero, scored once on wiki.test.raw. On two bf16 cores
# (AVX512_BF16) the teachers take 22-36 minutes, by the machine, and the student trained for 105 on
# section 51's (22 of its 30 epochs, up to the cap); in float32 the teachers take about 80.
#
#   bash results/reproduce_wikitext2.sh WIKITEXT2_RAW_DIR [RUN_DIR]     (RUN_DIR: runs/wikitext2)
#
# The seeds, thread counts and precision are those of the logged runs. The teachers repeat to the last
# digit on a CPU of their kind (sections 39-42, 46). The student asks for 30 epochs under a 110-minute
# cap (--max-minutes), its cosine planned over whichever ends first: on section 51's two Zen 4 cores the
# cap ended it after 22 epochs, annealed; on a slower or float32 machine the cap ends it earlier still,
# with fewer epochs and a higher figure.
# DRY_RUN=1 prints the commands without running them. VARIANT=1 also rebuilds the variant row (section
# 52): the multiplicative 3 x 1280 student of the four teachers on the same recipe and cap, scored once;
# about 110 more minutes, with fewer epochs and a higher figure where the cap ends it earlier.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -f "$1/wiki.valid.raw" ] || [ ! -f "$1/wiki.test.raw" ]; then
    echo "error: give a folder holding wiki.valid.raw and wiki.test.raw (WikiText-2 raw)" >&2
    exit 2
fi
data=$(cd "$1" && pwd)
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${2:-runs/wikitext2}
mkdir -p "$runs" && cd "$runs"

# step NAME THREADS SCRIPT ARGS...: print the command, then run it on THREADS threads, output in NAME.log.
step() {
    local name=$1 threads=$2 script=$3
    shift 3
    echo "OMP_NUM_THREADS=$threads python $script$(printf ' %q' "$@")"
    if [ "${DRY_RUN:-0}" != 1 ]; then
        OMP_NUM_THREADS=$threads python "$root/$script" "$@" > "$name.log" 2>&1
    fi
}
# train NAME THREADS ARGS...: a train.py run whose checkpoints and plots are named after it.
train() {
    local name=$1 threads=$2
    shift 2
    step "$name" "$threads" train.py "$@" --checkpoint-dir "$name" --plot "$name.png" \
        --diagnostics-plot "$name.diagnostics.png"
}
# score NAME: NAME's best.pt scored once on wiki.test.raw (NAME.test.log), its figure then shown.
score() {
    step "$1.test" 2 evaluate.py --checkpoint "$1/best.pt" --text-file "$data/wiki.test.raw"
    [ "${DRY_RUN:-0}" = 1 ] || tail -n 3 "$1.test.log"
}

proxy=(--data-file "$data/wiki.valid.raw" --valid-fraction 0.1 --test-fraction 0 --sample-length 0)
# Both rows learn from all four teachers (sections 46-47 and 52).
four=(--teachers WB20/best.pt,WB20s7/best.pt,WB20s3/best.pt,WB20s11/best.pt --distill-weight 0.5
      --distill-temperature 2)
# The variant's long recipe (section 34): DropConnect on W_hh, windows moved each epoch, dropout 0.1.
long=(--shift-windows --stride 64 --weight-drop 0.15 --dropout 0.1)

# teacher_pair NAME SEED NAME SEED: two vanilla 2 x 512 teachers (section 35's command) side by side.
teacher_pair() {
    train "$1" 1 "${proxy[@]}" --hidden-size 512 --epochs 20 --seed "$2" &
    local first=$!
    train "$3" 1 "${proxy[@]}" --hidden-size 512 --epochs 20 --seed "$4" &
    local second=$!
    # Waiting on each job by name returns its exit status, so set -e stops the chain if a teacher failed
    # (a bare `wait` returns 0 whatever the jobs did).
    wait "$first"
    wait "$second"
}

# Best valid 1.5963, 1.5996, 1.6013 and 1.6008 in bf16 (1.5932 and 1.5974 for the first two in float32).
teacher_pair WB20 1337 WB20s7 7
teacher_pair WB20s3 3 WB20s11 11

# Section 51: the vanilla 3 x 1536 student of the four, 30 epochs capped at 110 minutes, the rate decayed
# to zero (best valid 1.4980), and its one test score (2.0490 BPC).
student=("${proxy[@]}" "${long[@]}" --num-layers 3 --epochs 30 --max-minutes 110 --final-lr-fraction 0 "${four[@]}")
train WV3Z 2 "${student[@]}" --hidden-size 1536
score WV3Z

# Section 52: the variant row, the vanilla row's command with the multiplicative cell at its rate and
# 1280 units (best valid 1.5028, test 2.0555 BPC).
if [ "${VARIANT:-0}" = 1 ]; then
    train WM3Z 2 "${student[@]}" --hidden-size 1280 --cell multiplicative --lr 1e-3
    score WM3Z
fi
