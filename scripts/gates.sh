#!/usr/bin/env bash
# The CI quality gates of issue 5, one entry point: contract fuzzing (schemathesis), cross-user
# access, crash safety (SIGKILL + full disk), load (wrk), two nodes on one PostgreSQL, and the log
# scan for personal data and secrets. Run after `source scripts/postgres.sh start` (which exports
# KITH_TEST_POSTGRES_URL); without it the PostgreSQL parts skip, except under CI=true, where they fail.
#
#   scripts/gates.sh                     # gates against $(swift build --show-bin-path)/kith (built if needed)
#   KITH_BIN=/path/to/kith scripts/gates.sh [pytest args…]
#
# Knobs (defaults are the CI sizes): KITH_FUZZ_SECONDS=150, KITH_FUZZ_MIN_CASES=5000,
# KITH_LOAD_SECONDS=5 (30 for docs/performance.md, with KITH_PERF_DOC=docs/performance.md),
# KITH_CRASH_KILLS_SQLITE=30, KITH_CRASH_WRITES_SQLITE=6000, KITH_CRASH_KILLS_POSTGRES=25,
# KITH_CRASH_WRITES_POSTGRES=4000, KITH_GATES_WORKDIR (scratch + logs, kept), KITH_GATES_VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/opt/swift/usr/bin:$PATH"
start=$(date +%s)

# --- the binary under test
if [ -z "${KITH_BIN:-}" ]; then
  echo "== swift build --product kith (the binary the gates test)"
  swift build --product kith
  KITH_BIN="$(swift build --show-bin-path)/kith"
fi
[ -x "$KITH_BIN" ] || { echo "gates: KITH_BIN=$KITH_BIN is not an executable" >&2; exit 1; }
export KITH_BIN
echo "== gates against $KITH_BIN"

# --- tools: wrk from Debian, Python packages in a virtualenv
if ! command -v wrk >/dev/null 2>&1; then
  echo "== installing wrk from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq wrk >/dev/null
fi
venv="${KITH_GATES_VENV:-/tmp/kith-gates-venv}"
stamp="$venv/.requirements.sha256"
want="$(sha256sum gates/requirements.txt | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== installing gates/requirements.txt into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r gates/requirements.txt
  echo "$want" >"$stamp"
fi

# --- where logs and reports go (kept after the run: the log gate reads them, people may too)
export KITH_GATES_WORKDIR="${KITH_GATES_WORKDIR:-$(mktemp -d /tmp/kith-gates.XXXXXX)}"
mkdir -p "$KITH_GATES_WORKDIR"
if [ "${CI:-}" = "true" ] || [ -n "${KITH_TEST_POSTGRES_URL:-}" ]; then export KITH_GATES_REQUIRE_POSTGRES=1; fi
export PYTHONDONTWRITEBYTECODE=1

drop_gate_databases() {
  [ -n "${KITH_TEST_POSTGRES_URL:-}" ] || return 0
  for db in $(psql "$KITH_TEST_POSTGRES_URL" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'kith_gates_%'" 2>/dev/null); do
    psql "$KITH_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
}
drop_gate_databases

echo "== gates (workdir $KITH_GATES_WORKDIR)"
status=0
"$venv/bin/python" -m pytest gates -p no:cacheprovider -rs --junitxml="$KITH_GATES_WORKDIR/junit.xml" "$@" || status=$?
drop_gate_databases

echo "== gate figures"
for f in fuzz-summary.txt cross-user-summary.txt crash-summary.txt logs-summary.txt; do
  [ -f "$KITH_GATES_WORKDIR/$f" ] && cat "$KITH_GATES_WORKDIR/$f"
done
if [ -f "$KITH_GATES_WORKDIR/load-results.json" ]; then
  python3 - "$KITH_GATES_WORKDIR/load-results.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for r in d["results"]:
    print(f"wrk {r['scenario']} on {r['store']} ({d['machine']['build']} build, {r['seconds']} s): {r['rps']:.0f} req/s, "
          f"p50 {r['p50_us']/1000:.2f} ms, p99 {r['p99_us']/1000:.2f} ms, errors {r['errors']}, non-2xx {r['non2xx']}")
PY
fi
echo "gates finished in $(( $(date +%s) - start )) s with status $status; logs and reports in $KITH_GATES_WORKDIR"
# pytest exits 5 when it collected no test: that is a failure of the gates too.
exit "$status"
