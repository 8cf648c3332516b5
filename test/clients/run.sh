#!/usr/bin/env bash
# Client tests of vecann: the Python drivers and ORMs (test/clients/python, pytest)
# and the Node.js ones (test/clients/node, node --test), against a scratch server
# this script starts (scripts/scratch-pg.sh) and removes on exit.
#   bash test/clients/run.sh            install what is missing, run both suites
#   bash test/clients/run.sh python     only one suite (python or node)
# Installs missing Debian packages (as root, apt-get) and the pinned npm packages
# (npm ci into test/clients/node/node_modules, git-ignored) when package-lock.json
# changed. Needs the extension installed first (make install). Ends with the line
# "clients: N passed, M failed" and exits non-zero when anything failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/test/clients
suites=("${@:-python node}")
read -r -a suites <<<"${suites[*]}"
PY=/usr/bin/python3  # Debian's Python, where the python3-* packages are

# ---- dependencies ------------------------------------------------------------------
debs=(python3-pytest python3-psycopg python3-psycopg2 python3-asyncpg python3-sqlalchemy
      python3-django python3-numpy python3-pg8000 python3-peewee)
command -v node >/dev/null || debs+=(nodejs)
command -v npm >/dev/null || debs+=(npm)
bash "$root/scripts/install-deps.sh" "${debs[@]}" || {
  echo "installing Debian packages failed" >&2; echo "clients: 0 passed, 1 failed"; exit 1; }

node_dir=$here/node
stamp=$node_dir/node_modules/.vecann-lock.sha256
lock_sum=$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)
if [[ " ${suites[*]} " == *" node "* ]] && [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ]; then
  echo "npm ci (test/clients/node)"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error) || {
    echo "npm ci failed" >&2; echo "clients: 0 passed, 1 failed"; exit 1; }
  echo "$lock_sum" >"$stamp"
fi

if [ ! -f "$(pg_config --sharedir)/extension/vecann.control" ]; then
  echo "vecann is not installed: run make install first" >&2
  echo "clients: 0 passed, 1 failed"
  exit 1
fi

# ---- scratch server ---------------------------------------------------------------------
# shellcheck source=../../scripts/scratch-pg.sh
source "$root/scripts/scratch-pg.sh"
work=$(mktemp -d /tmp/vecann-clients.XXXXXX)
cleanup() { scratch_pg_stop; rm -rf "$work"; }
trap cleanup EXIT
scratch_pg_start || { echo "clients: 0 passed, 1 failed"; exit 1; }

passed=0
failed=0

# ---- Python ------------------------------------------------------------------------------
if [[ " ${suites[*]} " == *" python "* ]]; then
  echo "== client tests: Python (pytest) =="
  (cd "$here/python" && timeout 600 "$PY" -m pytest -q --junitxml="$work/python.xml" .)
  rc=$?
  read -r p f < <("$PY" - "$work/python.xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 0); sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
tests = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) for s in suites)
print(tests - bad - skipped, bad)
PYEOF
  )
  # A run that failed without failing a test (collection error, crash) still fails.
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  echo "python: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
fi

# ---- Node --------------------------------------------------------------------------------
if [[ " ${suites[*]} " == *" node "* ]]; then
  echo "== client tests: Node.js (node --test) =="
  (cd "$node_dir" && timeout 600 node --test --test-concurrency=2 \
     --test-reporter=spec --test-reporter-destination=stdout \
     --test-reporter=tap --test-reporter-destination="$work/node.tap" ./*.test.mjs)
  rc=$?
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$work/node.tap" | tail -1)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$work/node.tap" | tail -1)
  c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$work/node.tap" | tail -1)
  p=${p:-0}; f=$(( ${f:-0} + ${c:-0} ))
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  echo "node: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
fi

echo "clients: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
