#!/usr/bin/env bash
# The fleet job of .github/workflows/drift.yml: every stack's drift check in one run of
# `python -m ops fleet drift` (0 no drift, 7 some stack drifted, 2 some stack could not be
# checked), then the evidence audit of the Level side for each manual-mode stack (api-mode
# ones too with AUDIT_API_MODE=true), and each stack's issue body. Read access only.
# In: as drift_check.sh, with DRIFT_FLEET_STACKS ("dev prod"; empty: every stack with a
# stack file that exists on the backend) instead of STACK.
# Out (GITHUB_OUTPUT): code=<the fleet's exit code> audit=<0, or 1 findings, or 2 some audit
# could not run>; issues/open/<stack>.md and issues/close/<stack> for the issue step.
set -euo pipefail
: "${GITHUB_OUTPUT:=/dev/null}" "${GITHUB_STEP_SUMMARY:=/dev/null}"
# shellcheck source=drift_env.sh
source "$(dirname "$0")/drift_env.sh"

read -ra stacks <<< "${DRIFT_FLEET_STACKS:-}"
args=()
if [ "${#stacks[@]}" -gt 0 ]; then args=(--stacks "${stacks[@]}"); fi
set +e
"$PY" -m ops fleet drift --json "${args[@]}" > fleet.json 2> fleet.err
code=$?
set -e

audit=0
rm -rf audits issues
mkdir -p audits
for stack in $("$PY" -c 'import json, sys
for s in json.load(open(sys.argv[1])).get("stacks", []): print(s["stack"])' fleet.json 2>/dev/null); do
  [[ $stack =~ ^[A-Za-z0-9_.-]+$ ]] || continue
  warn_about_credentials_in "$stack"
  if audits "$stack"; then
    set +e
    "$PY" -m ops audit --stack "$stack" --json > "audits/$stack.json" 2> "audits/$stack.err"
    status=$?
    set -e
    echo "$status" > "audits/$stack.code"
    if [ "$status" -gt "$audit" ]; then audit=$status; fi
  fi
done
{
  echo "### Fleet drift check (exit $code), evidence audits (worst exit $audit)"
  "$PY" -m tools.drift_issue fleet fleet.json --audits audits --out-dir issues \
    --run-url "${RUN_URL:-}" || { echo '```text'; tail -n 5 fleet.err; echo '```'; }
} >> "$GITHUB_STEP_SUMMARY"

{
  echo "code=$code"
  echo "audit=$audit"
} >> "$GITHUB_OUTPUT"
