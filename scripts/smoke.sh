#!/usr/bin/env bash
# Starts the server with the README command and drives one sign-up through the outbox with curl,
# then checks the processing log with `kith ledger verify`. Usage: scripts/smoke.sh [DATABASE_URL]
# With KITH_SMOKE_TLS=1 the server gets a self-signed certificate (openssl) and every call goes over
# HTTPS, curl trusting only that certificate; the answers must carry HSTS (CON-07).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
export KITH_PORT="${KITH_SMOKE_PORT:-18080}"
export KITH_DATABASE_URL="${1:-sqlite://$work/kith.sqlite}"
export KITH_SMS_OUTBOX="$work/outbox.jsonl"
export KITH_KEY_FILE="$work/kith.keys"
base="http://127.0.0.1:$KITH_PORT"
if [ "${KITH_SMOKE_TLS:-0}" = 1 ]; then
  command -v openssl >/dev/null || { echo "installing openssl from Debian"; apt-get install -y -qq openssl >/dev/null; }
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=127.0.0.1" \
    -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  export KITH_TLS_CERTIFICATE="$work/cert.pem" KITH_TLS_KEY="$work/key.pem"
  export CURL_CA_BUNDLE="$work/cert.pem"
  base="https://127.0.0.1:$KITH_PORT"
fi

swift run kith serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do
  curl -fsS "$base/health" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { cat "$work/server.log"; echo "server died"; exit 1; }
  sleep 1
done
curl -fsS "$base/health"; echo
if [ "${KITH_SMOKE_TLS:-0}" = 1 ]; then
  curl -fsS -D - -o /dev/null "$base/health" | grep -qi '^strict-transport-security: max-age=' || { echo "no HSTS over HTTPS"; exit 1; }
  if curl -fsS "http://127.0.0.1:$KITH_PORT/health" >/dev/null 2>&1; then echo "plain HTTP answered"; exit 1; fi
fi

phone="+8613700000042"
verification=$(curl -fsS -X POST "$base/v1/auth/verifications" -H 'content-type: application/json' -d "{\"phone\":\"$phone\"}")
id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["verificationId"])' "$verification")
code=$(python3 - "$KITH_SMS_OUTBOX" "$phone" <<'PY'
import json, re, sys
messages = [json.loads(l) for l in open(sys.argv[1])]
mine = [m for m in messages if m["to"] == sys.argv[2] and m["kind"] == "verification"]
assert mine and mine[-1]["evidence"].startswith("log:"), "no verification SMS with evidence in the outbox"
print(re.search(r"\b(\d{6})\b", mine[-1]["body"]).group(1))
PY
)
session=$(curl -fsS -X POST "$base/v1/auth/sessions" -H 'content-type: application/json' -d "{\"verificationId\":\"$id\",\"code\":\"$code\"}")
token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$session")
me=$(curl -fsS "$base/v1/me" -H "authorization: Bearer $token")
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["phone"] == sys.argv[2]' "$me" "$phone"
curl -fsS "$base/v1/privacy/notice?locale=en" -o "$work/notice.json"
hash=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print([p for p in d["purposes"] if p["id"]=="contact-discovery"][0]["consentTextSHA256"])' "$work/notice.json")
version=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$work/notice.json")
curl -fsS -X POST "$base/v1/me/consents" -H "authorization: Bearer $token" -H 'content-type: application/json' \
  -d "{\"purpose\":\"contact-discovery\",\"noticeVersion\":$version,\"locale\":\"en\",\"textSHA256\":\"$hash\",\"initialState\":\"unchecked\",\"channel\":\"web\"}" >/dev/null
curl -fsS -X DELETE "$base/v1/me/consents/contact-discovery" -H "authorization: Bearer $token" >/dev/null
curl -fsS "$base/openapi.yaml" -o "$work/openapi.yaml" && head -1 "$work/openapi.yaml"
curl -fsS "$base/metrics" -o "$work/metrics.txt" && grep -q kith_http_requests_total "$work/metrics.txt"
if grep -q -e "$phone" -e "$code" -e "$token" "$work/server.log"; then echo "personal data in the server log"; exit 1; fi
swift run kith ledger verify
echo "smoke: sign-up through the outbox passed on ${KITH_DATABASE_URL%%:*} over ${base%%:*}"
