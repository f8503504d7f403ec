#!/usr/bin/env bash
# Open, update or close the issue "Drift in stack <stack>": the one issue per stack that
# .github/workflows/drift.yml keeps for its drift check and its evidence audit.
#   drift_issue.sh open  <stack> <body file>   comment on the open issue, or open one
#   drift_issue.sh close <stack> <comment>     close the open issue, if there is one
# Needs GH_TOKEN (a token with issues: write) and GITHUB_REPOSITORY (owner/name).
set -euo pipefail
action=${1:?open or close} stack=${2:?stack name} text=${3:?body file or comment}
if [[ ! $stack =~ ^[A-Za-z0-9_.-]+$ ]]; then
  echo "drift_issue.sh: not a stack name: $stack" >&2
  exit 2
fi
title="Drift in stack $stack"
number=$(gh issue list --repo "$GITHUB_REPOSITORY" --state open --search "in:title \"$title\"" \
  --json number,title --jq "map(select(.title == \"$title\")) | .[0].number // empty")
case $action in
  open)
    if [ -n "$number" ]; then
      gh issue comment "$number" --repo "$GITHUB_REPOSITORY" --body-file "$text"
    else
      gh issue create --repo "$GITHUB_REPOSITORY" --title "$title" --body-file "$text"
    fi ;;
  close)
    if [ -n "$number" ]; then
      gh issue close "$number" --repo "$GITHUB_REPOSITORY" --comment "$text"
    fi ;;
  *)
    echo "drift_issue.sh: the action is open or close, not $action" >&2
    exit 2 ;;
esac
