#!/usr/bin/env bash
# Run the official openEO backend validation suite (openeo-test-suite 0.2.2) against a fresh
# eostation server, with the harness in ../shared/testsuite. Not part of CI: it needs ../shared
# and PyPI (the harness builds its own venv once), and takes from minutes (collections,
# metadata) to an hour (processing, workflows) on a busy laptop.
#
#   scripts/testsuite.sh                      # all parts; results in $RESULTS_DIR/summary.txt
#   PARTS="collections metadata" scripts/testsuite.sh
#   PARTS=processing PROCESSES=apply_dimension,rename_labels scripts/testsuite.sh
#
# The server runs from this checkout's .venv on a free loopback port with a throw-away data
# dir and one password user (the suite authenticates with HTTP Basic). Every knob of the
# harness passes through (PARTS, PROCESSES, HARNESS_FIXES, RESULTS_DIR, ...; run
# ../shared/testsuite/run_against.sh without arguments to list them). S2_COLLECTION
# defaults to SENTINEL2_L2A so that the workflows part runs too. docs/testsuite.md lists
# the results and every remaining failure with the suite or spec defect behind it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HARNESS="${HARNESS:-$ROOT/../shared/testsuite}"
[ -x "$HARNESS/run_against.sh" ] || { echo "no harness at $HARNESS (../shared is absent)" >&2; exit 2; }
PY="$ROOT/.venv/bin/python"
[ -x "$PY" ] || { echo "no $PY: create the venv first (see README)" >&2; exit 2; }

"$HARNESS/setup.sh" >/dev/null

WORK="$(mktemp -d "${TMPDIR:-/tmp}/eostation-testsuite.XXXXXX")"
PORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
USER_ID=suite
PASSWORD="$("$PY" -c 'import secrets; print(secrets.token_urlsafe(16))')"
"$PY" -m eostation users add "$USER_ID" --password "$PASSWORD" --data-dir "$WORK/data" >/dev/null

EOSTATION_DASK_WORKERS="${EOSTATION_DASK_WORKERS:-0}" \
  "$PY" -m eostation serve --port "$PORT" --data-dir "$WORK/data" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/.well-known/openeo" >/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.5
done

export OPENEO_AUTH_METHOD=basic OPENEO_AUTH_BASIC_USERNAME="$USER_ID" OPENEO_AUTH_BASIC_PASSWORD="$PASSWORD"
export S2_COLLECTION="${S2_COLLECTION:-SENTINEL2_L2A}"
"$HARNESS/run_against.sh" "http://127.0.0.1:$PORT/openeo/1.2" "$@"
echo "server log: $WORK/server.log"
