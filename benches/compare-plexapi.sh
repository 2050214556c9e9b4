#!/usr/bin/env bash
# Runs python-plexapi's AlertListener beside plex-alerts against the same mock server and
# the same alert count, and prints the whole benchmark table with a python-plexapi section.
# Needs python3 (with venv) and network access to PyPI for the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${PLEXAPI_VENV:-target/plexapi-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "plexapi[alert]"  # [alert]: websocket-client, its AlertListener needs it
fi
python="$(cd "$venv" && pwd)/bin/python"
echo "python-plexapi $("$python" -c 'import plexapi; print(plexapi.VERSION)'), $("$python" --version)"
cargo run --release --example bench -- --python "$python" "$@"
