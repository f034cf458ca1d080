#!/usr/bin/env bash
# The compose deployment end to end on this machine's Docker engine (no registry needed):
#   1. the local base image and the images (deploy/build-images.sh --local-base);
#   2. `docker compose up`: SeaweedFS S3 store, the four services, and the orchestrator running the
#      smoke experiment in remote mode; waits for it, checks its report and that the datasets and
#      checkpoints are in the S3 bucket;
#   3. a second run with longer GAN training: SIGKILLs the trainer container while a GAN job is past
#      its first checkpoints; Docker restarts it (restart: unless-stopped); checks that the same job
#      resumes from its checkpoint and the run completes with a report;
#   4. `docker compose down -v`.
# Prints "compose-test: SKIPPED ..." and exits 0 when no Docker engine answers.
#
# Usage: deploy/compose-test.sh        (as root or a user of the docker group)
# Env:   EYEGAN_COMPOSE_TEST_TIMEOUT   seconds each orchestrator run may take (default 900)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"

if ! docker info >/dev/null 2>&1; then
    echo "compose-test: SKIPPED: no Docker engine answers (docker info failed)"
    exit 0
fi

started=$(date +%s)
timeout_s="${EYEGAN_COMPOSE_TEST_TIMEOUT:-900}"
export COMPOSE_PROJECT_NAME=eyegan-compose-test
runs="$repo/runs/compose"
smoke_run=compose-test-smoke
resume_run=compose-test-resume
resume_experiment="$runs/compose-test-resume.toml"

say() { echo "compose-test: $*"; }
fail() {
    echo "compose-test: FAILED: $*" >&2
    exit 1
}
elapsed() { echo "$(($(date +%s) - started)) s"; }

on_exit() {
    local status=$?
    if [[ $status -ne 0 ]]; then
        echo "compose-test: logs of the failed run follow" >&2
        compose logs --no-color --tail=200 >&2 || true
    fi
    compose down -v --remove-orphans >/dev/null 2>&1 || true
    rm -f "$resume_experiment"
    exit "$status"
}
trap on_exit EXIT

# Exit code of container $1 once it stops (fails after $timeout_s).
wait_exit() {
    timeout "$timeout_s" docker wait "$1" || fail "container $1 did not finish within $timeout_s s"
}

# Checks $1/report.json: both arms, a test accuracy in [0, 1] per run, and the verdict.
check_report() {
    python3 - "$1" <<'EOF'
import json, sys
path = sys.argv[1] + "/report.json"
report = json.load(open(path))
text = json.dumps(report)
for needle in ('"baseline"', '"gan"', "verdict"):
    assert needle in text, f"{path}: no {needle}"
accuracies = []
def walk(value, key=""):
    if isinstance(value, dict):
        for k, v in value.items():
            walk(v, k)
    elif isinstance(value, list):
        for v in value:
            walk(v, key)
    elif key in ("accuracy", "test_accuracy") and isinstance(value, (int, float)):
        accuracies.append(value)
walk(report)
assert accuracies, f"{path}: no accuracy"
assert all(0.0 <= a <= 1.0 for a in accuracies), f"{path}: accuracy out of range: {accuracies}"
print(f"compose-test: {path}: {len(accuracies)} accuracies, all in [0, 1]")
EOF
}

# Prints the S3 listing of $1 inside the bucket (weed shell in the s3 container).
s3_ls() {
    compose exec -T s3 bash -c "echo 'fs.ls /buckets/eyegan/store/$1' | weed shell -master=127.0.0.1:9333 2>/dev/null"
}

say "building the base image and the images"
deploy/build-images.sh --local-base

compose down -v --remove-orphans >/dev/null 2>&1 || true
rm -rf "${runs:?}/$smoke_run" "${runs:?}/$resume_run"
mkdir -p "$runs"

# --- 1. docker compose up: everything, smoke experiment included --------------------------------
say "docker compose up ($(elapsed))"
EYEGAN_RUN_NAME=$smoke_run compose up -d
orchestrator="$(compose ps -q orchestrator)"
[[ -n "$orchestrator" ]] || fail "no orchestrator container"
code="$(wait_exit "$orchestrator")"
[[ "$code" == 0 ]] || fail "the smoke run exited with $code"
say "smoke run finished ($(elapsed))"
for file in report.json report.md report.html; do
    [[ -s "$runs/$smoke_run/$file" ]] || fail "no $runs/$smoke_run/$file"
done
check_report "$runs/$smoke_run"

listing="$(s3_ls "")"
echo "$listing" | sed 's/^/  s3 store\/: /'
grep -qx datasets <<<"$listing" || fail "no datasets in s3://eyegan/store"
jobs="$(s3_ls jobs)"
echo "$jobs" | sed 's/^/  s3 store\/jobs\/: /'
grep -qx trainer <<<"$jobs" || fail "no trainer jobs (checkpoints) in s3://eyegan/store"
say "datasets and trainer checkpoints are in the S3 bucket"

# --- 2. second run: kill the trainer mid-GAN, the job resumes -----------------------------------
sed -e 's/^iterations = 40$/iterations = 1000/' examples/smoke.toml >"$resume_experiment"
grep -q '^iterations = 1000$' "$resume_experiment" || fail "examples/smoke.toml has no 'iterations = 40' line"
say "second run with 1000 GAN iterations ($(elapsed))"
EYEGAN_EXPERIMENT="$resume_experiment" EYEGAN_RUN_NAME=$resume_run \
    compose run -d --no-deps --name "${COMPOSE_PROJECT_NAME}-resume" orchestrator --json >/dev/null
run2="${COMPOSE_PROJECT_NAME}-resume"

# Wait for a running GAN job past two checkpoints (checkpoint_every = 20).
job=""
deadline=$(($(date +%s) + timeout_s))
while [[ -z "$job" ]]; do
    (($(date +%s) < deadline)) || fail "no GAN job was seen between iteration 60 and 250"
    [[ "$(docker inspect -f '{{.State.Running}}' "$run2")" == true ]] || fail "the second run stopped early"
    job="$(docker logs "$run2" 2>/dev/null | python3 -c '
import json, sys
latest = {}
for line in sys.stdin:
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("event") == "job_progress" and event.get("step", "").startswith("gan"):
        latest[event["job_id"]] = event
for job, event in latest.items():
    # past three checkpoints and far from the end, so the kill lands mid-job
    if event["state"] == "JOB_STATE_RUNNING" and 60 <= event["current"] <= event["total"] - 150:
        print(job)
        break
')"
    [[ -n "$job" ]] || sleep 0.5
done
trainer="$(compose ps -q trainer)"
restarts_before="$(docker inspect -f '{{.RestartCount}}' "$trainer")"
killed_at="$(date +%s)"
say "SIGKILL to the trainer while job $job runs ($(elapsed))"
kill -KILL "$(docker inspect -f '{{.State.Pid}}' "$trainer")"

deadline=$(($(date +%s) + 60))
until [[ "$(docker inspect -f '{{.RestartCount}} {{.State.Running}}' "$trainer")" == "$((restarts_before + 1)) true" ]]; do
    (($(date +%s) < deadline)) || fail "Docker did not restart the trainer within 60 s"
    sleep 0.5
done
say "the trainer container is back ($(elapsed))"

code="$(wait_exit "$run2")"
docker logs "$run2" >"$runs/$resume_run.events.jsonl" 2>&1 || true
docker rm "$run2" >/dev/null
[[ "$code" == 0 ]] || fail "the second run exited with $code (events: $runs/$resume_run.events.jsonl)"
check_report "$runs/$resume_run"

resumed="$(docker logs --since "$killed_at" "$trainer" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' |
    grep 'resuming gan training from checkpoint' | grep "$job" || true)"
[[ -n "$resumed" ]] || fail "the trainer log after the restart has no resume of job $job"
echo "  $resumed"
iteration="$(echo "$resumed" | head -n1 | sed -n 's/.*iteration=\([0-9]*\).*/\1/p')"
[[ -n "$iteration" && "$iteration" -ge 20 ]] || fail "job $job resumed from iteration '${iteration}', not a checkpoint >= 20"
grep -lq "$job" "$runs/$resume_run"/steps/gan-*.json ||
    fail "no GAN step record of $runs/$resume_run holds job $job (the job was not reattached)"
say "job $job resumed from its checkpoint at iteration $iteration and the run completed"

say "PASSED in $(elapsed) (reports: $runs/$smoke_run, $runs/$resume_run)"
