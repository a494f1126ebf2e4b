#!/usr/bin/env bash
# The Slurm backend against a real single-node cluster (ci/slurm.sh):
#   1. the smoke suite as a job array of 2 tasks: every run recorded with the same metrics as a
#      local `--jobs 1` run of the suite (REFERENCE), teachers trained once, the report job's tables;
#   2. a re-submission has nothing to do and changes no record;
#   3. one array task cancelled (scancel) in mid-run, then a re-submission: the records finished
#      before stay untouched and the cancelled run is completed.
#
#   bash ci/slurm-test.sh REFERENCE   # REFERENCE: results/smoke/<commit>/<machine>/ of a local run
# Uses target/debug/harbench (HARBENCH overrides it). Starts the cluster and stops it on exit.
set -Eeuo pipefail
cd "$(dirname "$0")/.."
REFERENCE=${1:?usage: ci/slurm-test.sh REFERENCE_RESULT_SET}
HARBENCH=$(realpath "${HARBENCH:-target/debug/harbench}")
WORK=$(mktemp -d /tmp/harbench-slurm.XXXXXX)
TIMEOUT_S=${SLURM_TEST_TIMEOUT_S:-1200}

fail() {
    echo "slurm-test: FAILED: $*" >&2
    for f in "$WORK"/*/smoke/*/*/slurm/*.out; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}
trap 'bash ci/slurm.sh stop' EXIT
bash ci/slurm.sh start

# The result set a submission writes, and its array and report job ids.
result_set() { ls -d "$1"/smoke/*/slurm; }
jobs_of() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["array_job"], d["report_job"])' "$(result_set "$1")/slurm/submission.json"; }

# Waits until the jobs have left the queue.
wait_for() {
    local deadline=$((SECONDS + TIMEOUT_S))
    while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
        [ $SECONDS -lt $deadline ] || fail "jobs $1 still queued after ${TIMEOUT_S}s"
        sleep 2
    done
}

# sha256 of every finished run record of a result set, one line per file.
finished_records() {
    local f
    for f in "$1"/*.json; do
        grep -q '"status": "finished"' "$f" && sha256sum "$f"
    done | sort
}

echo "== 1. the smoke suite as a 2-task array"
"$HARBENCH" slurm submit smoke --tasks 2 --results "$WORK/a" || fail "submit"
read -r array report < <(jobs_of "$WORK/a")
"$HARBENCH" slurm status smoke --results "$WORK/a" || fail "status"
wait_for "$array,$report"
set_a=$(result_set "$WORK/a")
python3 ci/same-metrics.py "$REFERENCE" "$set_a" || fail "the array's records differ from the local run's"
[ -f "$(dirname "$set_a")/tables.md" ] || fail "the report job wrote no tables"
teachers=$(ls "$set_a"/*.teacher.*.json | wc -l)
trained=$(ls "$WORK/a/teachers"/*.json | wc -l)
[ "$teachers" -eq "$trained" ] || fail "$trained teachers in the store for $teachers teacher runs"
# A distilling run that had to train its teacher itself says `"reused": false`.
[ -z "$(grep -l '"reused": false' "$set_a"/*.json)" ] || fail "a teacher was trained again by a distilling run"
[ -z "$(ls "$set_a"/*.lock 2>/dev/null)" ] || fail "locks left behind: $(ls "$set_a"/*.lock)"
"$HARBENCH" slurm status smoke --results "$WORK/a" | tee "$WORK/status.txt"
grep -q "16 finished" "$WORK/status.txt" || fail "status does not count 16 finished runs"

echo "== 2. a re-submission has nothing to do"
before=$(finished_records "$set_a")
if "$HARBENCH" slurm submit smoke --tasks 2 --results "$WORK/a" 2>"$WORK/resubmit.err"; then
    fail "a re-submission of a finished suite was accepted"
fi
grep -q "no run to do" "$WORK/resubmit.err" || fail "unclear refusal: $(cat "$WORK/resubmit.err")"
[ "$before" = "$(finished_records "$set_a")" ] || fail "a re-submission changed records"

echo "== 3. scancel of a task in mid-run, then a re-submission"
# Task 1 holds a run when a lock of the result set names a process of array task 1 (the task's
# script execs harbench, so the lock's pid carries the task's Slurm environment). `seen` keeps what
# the last poll found, for the message when the race is lost.
task1_holds_a_run() {
    local lock pid environ task
    seen=""
    for lock in "$set_b"/*.lock; do
        [ -f "$lock" ] || continue
        pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p' "$lock" 2>/dev/null)
        [ -n "$pid" ] || continue
        # Read the environment whole: `tr | grep -q` under pipefail is false whenever grep's early
        # exit kills tr with SIGPIPE.
        environ=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null) || continue
        task=$(grep -x 'SLURM_ARRAY_TASK_ID=.*' <<<"$environ" || true)
        seen+=" $(basename "$lock" .lock)@pid $pid (${task:-no Slurm task})"
        if [ "$task" = "SLURM_ARRAY_TASK_ID=1" ]; then
            held=$(basename "$lock" .lock)
            return 0
        fi
    done
    return 1
}
# Submits the synthetic half of the smoke suite into $1 and cancels array task 1 while it holds a
# run. Returns 1 when the array ends first: task 1's runs last seconds, so on a busy machine every
# one of them can fall between two polls. That is a lost race, not a fault of the backend.
cancel_task1_in_mid_run() {
    "$HARBENCH" slurm submit smoke --filter synthetic --tasks 2 --results "$1" || fail "submit"
    read -r array report < <(jobs_of "$1")
    set_b=$(result_set "$1")
    local deadline=$((SECONDS + TIMEOUT_S)) polls=0 queue
    until task1_holds_a_run; do
        polls=$((polls + 1))
        [ $SECONDS -lt $deadline ] || fail "task 1 never held a run"
        # Only an empty answer of a squeue that succeeded means the array has ended; a failed one
        # (a busy controller) is asked again at the next poll.
        if queue=$(squeue -h -j "$array" 2>&1) && [ -z "$queue" ]; then
            echo "the array ended after $polls polls, none of which saw task 1 holding a run (last poll:${seen:- no lock})"
            return 1
        fi
        sleep 0.2
    done
    scancel "${array}_1"
}
# A lost race starts over in a fresh store, up to three times.
for attempt in 1 2 3; do
    results_b="$WORK/b$attempt"
    cancel_task1_in_mid_run "$results_b" && break
    [ "$attempt" -lt 3 ] || fail "the array ended before task 1 could be cancelled in mid-run, 3 times"
    wait_for "$array,$report"
done
wait_for "$array,$report"
kept=$(finished_records "$set_b")
done_before=$(echo "$kept" | grep -c . || true)
# Task 0 takes over the cancelled task's stale lock if it reaches that run later; otherwise the
# run waits for the re-submission.
echo "after scancel of the task running $held: $done_before of 8 runs finished"
if [ "$done_before" -lt 8 ]; then
    "$HARBENCH" slurm submit smoke --filter synthetic --tasks 2 --results "$results_b" || fail "re-submit"
    read -r array report < <(jobs_of "$results_b")
    wait_for "$array,$report"
elif "$HARBENCH" slurm submit smoke --filter synthetic --tasks 2 --results "$results_b" 2>/dev/null; then
    fail "a re-submission of a finished suite was accepted"
fi
while read -r line; do
    [ -z "$line" ] || grep -qxF "$line" <(finished_records "$set_b") || fail "a record finished before the re-submission changed: $line"
done <<<"$kept"
[ "$(finished_records "$set_b" | wc -l)" -eq 8 ] || fail "not every run finished after the re-submission"
grep -q '"status": "finished"' "$set_b/$held.json" || fail "the cancelled run $held did not finish"
[ -z "$(ls "$set_b"/*.lock 2>/dev/null)" ] || fail "locks left behind: $(ls "$set_b"/*.lock)"

echo "slurm-test: passed ($WORK)"
rm -rf "$WORK"
