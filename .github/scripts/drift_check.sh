#!/usr/bin/env bash
# One stack's checks for .github/workflows/drift.yml's matrix job, from the checkout, with the
# project's runtime venv in ./venv and the Pulumi CLI on PATH. It needs read access only.
#   1. The declared-state drift check: pulumi preview --refresh --expect-no-changes --json
#      (0 no drift, 7 drift, anything else: could not check), reported by
#      tools/drift_report.py (property names only, never values).
#   2. The evidence audit of the Level side: python -m ops audit --json (0 delivered as
#      declared or nothing to judge, 1 findings, 2 could not run), for a manual-mode stack,
#      and for an api-mode one too with AUDIT_API_MODE=true.
#   3. With RUN_DOCTOR=true, the doctor's checks (GETs only), for the job summary.
# In: STACK; PULUMI_BACKEND_URL and its credentials; PULUMI_CONFIG_PASSPHRASE or
# PULUMI_ACCESS_TOKEN; ILERT_API_TOKEN and LEVEL_API_KEY (read-only keys are enough);
# RUN_URL; GITHUB_OUTPUT and GITHUB_STEP_SUMMARY (files; /dev/null when unset).
# Out (GITHUB_OUTPUT): drift=<code> audit=<code or skipped> doctor=<code or skipped>
# issue=open|close|keep, with the issue's body in issue.md; everything in the job summary.
set -euo pipefail
: "${STACK:?the stack to check}" "${GITHUB_OUTPUT:=/dev/null}" "${GITHUB_STEP_SUMMARY:=/dev/null}"
# shellcheck source=drift_env.sh
source "$(dirname "$0")/drift_env.sh"
warn_about_credentials_in "$STACK"

PULUMI_RUN_PROGRAM=$(refresh_runs_program "$STACK")
export PULUMI_RUN_PROGRAM
set +e
pulumi preview --refresh --expect-no-changes --json --non-interactive --stack "$STACK" \
  > preview.json 2> preview.err
drift=$?
set -e
"$PY" -m tools.drift_report preview.json > report.txt || true

audit=skipped
if audits "$STACK"; then
  set +e
  "$PY" -m ops audit --stack "$STACK" --json > audit.json 2> audit.err
  audit=$?
  set -e
fi

doctor=skipped
if [ "${RUN_DOCTOR:-}" = true ]; then
  set +e
  "$PY" -m ops doctor --stack "$STACK" --json > doctor.json
  doctor=$?
  set -e
fi

args=(--stack "$STACK" --run-url "${RUN_URL:-}")
if [ "$drift" = 7 ]; then args+=(--report report.txt); fi
if [ "$audit" = 1 ]; then args+=(--audit audit.json); fi
issue=keep
if [ "$drift" = 7 ] || [ "$audit" = 1 ]; then
  issue=open
  "$PY" -m tools.drift_issue body "${args[@]}" > issue.md
elif [ "$drift" = 0 ] && { [ "$audit" = 0 ] || [ "$audit" = skipped ]; }; then
  issue=close
fi

{
  echo "### Stack \`$STACK\`: drift check exit $drift, audit ${audit}, doctor ${doctor}"
  echo '```text'
  cat report.txt
  echo '```'
  if [ "$audit" != skipped ]; then
    if [ "$audit" = 0 ] || [ "$audit" = 1 ]; then
      "$PY" -m tools.drift_issue audit audit.json || true
    else
      echo "The evidence audit could not run (exit $audit):"
      echo '```text'
      tail -n 5 audit.err
      echo '```'
    fi
  fi
  if [ "$doctor" != skipped ]; then
    jq -r '.checks[] | "- \(.status) \(.scope): \(.summary)"' doctor.json || true
  fi
} >> "$GITHUB_STEP_SUMMARY"

{
  echo "drift=$drift"
  echo "audit=$audit"
  echo "doctor=$doctor"
  echo "issue=$issue"
} >> "$GITHUB_OUTPUT"
