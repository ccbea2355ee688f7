#!/usr/bin/env bash
# Serves the console and API and runs the scheduler, in the foreground; Ctrl-C stops both.
set -euo pipefail
PY=.venv/bin/python
ADDR="${HOST:-127.0.0.1}:${PORT:-8000}"

$PY manage.py qcluster &
scheduler=$!
trap 'kill "$scheduler" 2>/dev/null || true; wait "$scheduler" 2>/dev/null || true' EXIT INT TERM
echo "Console and API on http://${ADDR} (API docs: /api/docs); scheduler running. Ctrl-C stops both."
$PY manage.py runserver "$ADDR"
