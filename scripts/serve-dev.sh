#!/usr/bin/env bash
# Serves the console and API and runs the scheduler, in the foreground; Ctrl-C stops both.
set -euo pipefail
PY=.venv/bin/python
ADDR="${HOST:-127.0.0.1}:${PORT:-8000}"

# The web server, its autoreloader and the scheduler are three processes; local Spark serves one.
case "${CDP_LAKEHOUSE:-default}" in
  spark://local*)
    echo "make run starts several processes, and local Spark (CDP_LAKEHOUSE=${CDP_LAKEHOUSE}) serves one at a time." >&2
    echo "Use CDP_LAKEHOUSE=default here, or run one process: .venv/bin/python manage.py runserver --noreload" >&2
    exit 2 ;;
esac

$PY manage.py qcluster &
scheduler=$!
trap 'kill "$scheduler" 2>/dev/null || true; wait "$scheduler" 2>/dev/null || true' EXIT INT TERM
echo "Console and API on http://${ADDR} (API docs: /api/docs); scheduler running. Ctrl-C stops both."
$PY manage.py runserver "$ADDR"
