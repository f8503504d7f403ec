# Sourced by drift_check.sh and drift_fleet.sh (.github/workflows/drift.yml): the environment
# both jobs' checks run in, and the refusals that keep them honest. Nothing here prints a secret.

# A secret or variable that is not set reaches a step as an empty string, and an empty
# PULUMI_CONFIG_PASSPHRASE or key would be used as one: unset those.
for name in PULUMI_ACCESS_TOKEN PULUMI_CONFIG_PASSPHRASE ILERT_API_TOKEN LEVEL_API_KEY \
    AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_REGION \
    AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY AZURE_STORAGE_SAS_TOKEN GOOGLE_CREDENTIALS; do
  if [ -z "${!name:-}" ]; then unset "$name"; fi
done

# An explicit backend, never Pulumi Cloud by default: the state must be the one `make up` wrote.
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  echo "::error::No backend: set the variable PULUMI_BACKEND_URL (https://api.pulumi.com for Pulumi Cloud, or s3://..., azblob://..., gs://..., file://...); see docs/drift-and-ci.md." >&2
  exit 2
fi

# The backend's own credentials (docs/drift-and-ci.md, "Backends"). Cloud storage reads them
# from the environment as each cloud's SDK does; gs wants a key file, written here for this
# step only (mode 0600, removed when the step ends).
missing=""
case $PULUMI_BACKEND_URL in
  https://*|http://*)
    [ -n "${PULUMI_ACCESS_TOKEN:-}" ] || missing="the secret PULUMI_ACCESS_TOKEN" ;;
  s3://*)
    [ -n "${AWS_ACCESS_KEY_ID:-}${AWS_WEB_IDENTITY_TOKEN_FILE:-}${AWS_PROFILE:-}" ] \
      || missing="the secrets AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and the variable AWS_REGION), or an OIDC role step before this one" ;;
  azblob://*)
    [ -n "${AZURE_STORAGE_KEY:-}${AZURE_STORAGE_SAS_TOKEN:-}${AZURE_CLIENT_ID:-}" ] \
      || missing="the variable AZURE_STORAGE_ACCOUNT with the secret AZURE_STORAGE_KEY (or AZURE_STORAGE_SAS_TOKEN)" ;;
  gs://*)
    if [ -n "${GOOGLE_CREDENTIALS:-}" ]; then
      GOOGLE_APPLICATION_CREDENTIALS=$(umask 077 && mktemp "${RUNNER_TEMP:-/tmp}/gcs-key.XXXXXX")
      printf '%s' "$GOOGLE_CREDENTIALS" > "$GOOGLE_APPLICATION_CREDENTIALS"
      export GOOGLE_APPLICATION_CREDENTIALS
      unset GOOGLE_CREDENTIALS
      trap 'rm -f "$GOOGLE_APPLICATION_CREDENTIALS"' EXIT
    fi
    [ -n "${GOOGLE_APPLICATION_CREDENTIALS:-}" ] \
      || missing="the secret GOOGLE_CREDENTIALS (a service account's JSON key)" ;;
  file://*) ;;
  *) missing="a backend URL Pulumi knows (https://, s3://, azblob://, gs://, file://)" ;;
esac
if [ -n "$missing" ]; then
  echo "::error::The backend $PULUMI_BACKEND_URL needs $missing; see docs/drift-and-ci.md." >&2
  exit 2
fi

# The drift check reads only: the refresh reads both APIs, the preview changes nothing, and
# its preflight skips the Level write probe, so read-only keys are enough.
export LEVEL_ILERT_PREFLIGHT=read-only
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PATH="$PWD/venv/bin:$PATH"   # Pulumi's Python language host runs python3 from PATH
PY=venv/bin/python

# Least privilege (docs/real-environment.md, "Least-privilege CI"): a credential kept in the
# stack file wins over the read-only one given here, and CI's passphrase decrypts it.
credentials_in_stack_file() {
  { grep -Eo '^[[:space:]]+(ilert:apiToken|level:apiKey):' "Pulumi.$1.yaml" 2>/dev/null || true; } \
    | sed -E 's/^[[:space:]]+//; s/:$//' | paste -sd, -
}
warn_about_credentials_in() {
  local found
  found=$(credentials_in_stack_file "$1")
  if [ -n "$found" ]; then
    echo "::warning::Pulumi.$1.yaml holds $found: CI's passphrase can decrypt it, and it is used instead of the read-only key this job is given. Keep the keys out of the stack file (docs/real-environment.md#least-privilege-ci)."
  fi
}

# The stack's Level mode (api, the default, or manual), as its stack file says.
level_mode() {
  "$PY" -c 'import sys, yaml
config = (yaml.safe_load(open(sys.argv[1], encoding="utf-8")) or {}).get("config") or {}
print(config.get("level:webhookManagement") or "api")' "Pulumi.$1.yaml" 2>/dev/null || echo api
}

# Whether a stack's refresh runs the program, as make decides it (ops/refresh_mode.py): then a
# key kept in the stack file and rotated since its last `up` works at once. Keys given in the
# environment, as this job's are, are never saved in the state and need nothing.
refresh_runs_program() {
  "$PY" -m ops.refresh_mode --stack "$1"
}

# Whether the evidence audit of the Level side runs for a stack: always in manual mode (the
# drift check sees only ilert there), in api mode too with AUDIT_API_MODE=true.
audits() {
  [ "$(level_mode "$1")" = manual ] || [ "${AUDIT_API_MODE:-}" = true ]
}
