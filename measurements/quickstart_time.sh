#!/usr/bin/env bash
# Command 1 of the README's quick start, timed, as a new user meets it: a fresh clone of this
# checkout, a fresh virtualenv, an empty HOME and no pip cache. Logs in /tmp/qs-*.log.
#   bash measurements/quickstart_time.sh
set -u
rm -rf /tmp/qs /tmp/qs-venv /tmp/qs-home
git clone -q "$(cd "$(dirname "$0")/.." && pwd)" /tmp/qs
python3 -m venv /tmp/qs-venv
source /tmp/qs-venv/bin/activate
mkdir -p /tmp/qs-home
cd /tmp/qs
export PIP_NO_CACHE_DIR=1 HOME=/tmp/qs-home
start=$(date +%s.%N)
bash .ci/run install > /tmp/qs-install.log 2>&1
mid=$(date +%s.%N)
python3 -m tools.suite --profile small > /tmp/qs-suite.log 2>&1
status=$?
end=$(date +%s.%N)
python3 - "$start" "$mid" "$end" "$status" <<'PY'
import sys
s, m, e, status = map(float, sys.argv[1:])
print(f"install {m - s:.0f} s, suite {e - m:.0f} s (exit {int(status)}), total {e - s:.0f} s")
PY
