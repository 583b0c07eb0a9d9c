#!/usr/bin/env bash
# The one test command (`npm test`): installs what is missing, brings up the local
# stack (Kafka KRaft + Apicurio Registry from Maven Central, the machine's
# PostgreSQL) unless KAFKA_BROKERS/SCHEMA_REGISTRY_URL/DATABASE_URL point elsewhere,
# runs every vitest project, stops what it started, and ends with one plain line
# "N passed, N failed" read from vitest's JSON report.
set -uo pipefail
cd "$(dirname "$0")/.."
started_at=$(date +%s)

source scripts/ensure-deps.sh

# Debian packages some tests use: Prometheus and promtool (monitoring tests), Chromium
# (the settings page, driven by playwright-core; nothing downloads a browser), Python's
# confluent-kafka and Apache Avro for /usr/bin/python3 (examples/python-subscriber).
# Installed when missing and we may (root, as in CI); without them those tests skip
# with a message saying so.
need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
/usr/bin/python3 -c 'import confluent_kafka, avro.io' >/dev/null 2>&1 || need+=(python3-confluent-kafka python3-avro)
if [ ${#need[@]} -gt 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[test] installing Debian packages: ${need[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}") >/dev/null 2>&1 \
    || echo "[test] could not install ${need[*]}; the tests that need them will skip"
fi

started_stack=0
if [ -z "${KAFKA_BROKERS:-}" ] || [ -z "${SCHEMA_REGISTRY_URL:-}" ] || [ -z "${DATABASE_URL:-}" ]; then
  if ! npx tsx scripts/stack/index.ts status >/dev/null 2>&1; then started_stack=1; fi
  if ! npx tsx scripts/stack/index.ts up; then
    # Leave nothing half-started behind.
    [ "$started_stack" = 1 ] && npx tsx scripts/stack/index.ts down >/dev/null 2>&1
    echo "0 passed, 1 failed"
    exit 1
  fi
  eval "$(npx tsx scripts/stack/index.ts env | sed 's/^/export /')"
fi
echo "[test] versions under test:"
echo "[test]   Node $(node -v) ($(command -v node))"
npx tsx scripts/stack/index.ts status 2>/dev/null | sed 's/^/[test]   /'

report=.cache/vitest-report.json
mkdir -p .cache && rm -f "$report"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?

if [ "$started_stack" = 1 ] && [ "${KEEP_STACK:-0}" != 1 ]; then npx tsx scripts/stack/index.ts down >/dev/null 2>&1; fi

echo "[test] took $(( $(date +%s) - started_at ))s"
if [ -f "$report" ]; then
  node -e '
    const r = require(process.argv[1]);
    const skipped = r.numPendingTests + r.numTodoTests;
    // A file that fails outside any test (a beforeAll, an import) counts as a failure too.
    const brokenFiles = r.testResults.filter((f) => f.status === "failed" && !f.assertionResults.some((a) => a.status === "failed")).length;
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests + brokenFiles} failed` + (skipped ? `, ${skipped} skipped` : ""));
    if (r.numTotalTests === 0) process.exit(1);
  ' "$PWD/$report" || status=1
else
  echo "0 passed, 0 failed"
  status=1
fi
exit $status
