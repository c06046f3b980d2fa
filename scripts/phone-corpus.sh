#!/usr/bin/env bash
# Regenerates the differential phone-number corpus (Tests/KithCoreTests/Fixtures/phone-corpus.jsonl) from
# the pinned libphonenumber release, the one Kith's tables come from: one command, `scripts/phone-corpus.sh`.
# Run it after scripts/phone-metadata.sh when the release moves.
set -euo pipefail
cd "$(dirname "$0")/.."
pinned="$(sed -n 's/^PINNED = "\(.*\)"$/\1/p' scripts/phone-metadata.py)"
venv="${KITH_PHONE_METADATA_VENV:-/tmp/kith-phone-metadata-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q "phonenumbers==$pinned"
"$venv/bin/python" scripts/phone-corpus.py
