#!/usr/bin/env bash
# Regenerates the phone-number tables (Sources/KithCore/Identity/PhoneMetadata+Table.swift) and the
# differential corpus labelled by the same release (Tests/KithCoreTests/Fixtures/phone-corpus.jsonl) from
# the pinned libphonenumber metadata release: one command, `scripts/phone-metadata.sh`. To move to a newer
# release, change PINNED in scripts/phone-metadata.py and in gates/requirements.txt, then run this.
set -euo pipefail
cd "$(dirname "$0")/.."
pinned="$(sed -n 's/^PINNED = "\(.*\)"$/\1/p' scripts/phone-metadata.py)"
venv="${KITH_PHONE_METADATA_VENV:-/tmp/kith-phone-metadata-venv}"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q "phonenumbers==$pinned"
"$venv/bin/python" scripts/phone-metadata.py
"$venv/bin/python" scripts/phone-corpus.py
