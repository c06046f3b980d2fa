"""Gate — phone numbers read through the live API as libphonenumber reads them (issue 11; ACC-12, CON-03).

The differential corpus (`Tests/KithCoreTests/Fixtures/phone-corpus.jsonl`, written by
`scripts/phone-metadata.sh`: numbers of every region, entity and type in the forms address books hold) is
split over servers started with different `KITH_DEFAULT_REGION`s; each text is labelled again here by
libphonenumber's Python port (the pinned `phonenumbers`, the release Kith's tables come from) under that
server's region. Then, as a client would:

- **upload**: every text goes up in an address book. Entries libphonenumber calls invalid, or valid but
  not a number a text can reach, must come back in `invalid` (the latter as `not-mobile`); the others must
  not. A few of the numbers belong to discoverable accounts: their written forms, and only those, match.
  Right after, the server's database files hold no unmatched number in clear.
- **sign-in**: a sample (one text per number) asks for a code. A mobile number gets a 202 and an SMS whose
  recipient is libphonenumber's E.164; any other text gets a 422 problem that echoes no digits, and no SMS.

Kith must agree with libphonenumber on ≥ 99.5% of the valid mobile numbers and refuse ≥ 99% of the
rest, in each check; every disagreement is printed (these are libphonenumber's example numbers and their
neighbours, no one's own). Every number used is recorded for the log scan.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import phonenumbers
from phonenumbers import PhoneNumberFormat

import kithgates
from kithgates import KithServer

CORPUS = kithgates.REPO / "Tests/KithCoreTests/Fixtures/phone-corpus.jsonl"
REGIONS = ["CN", "US", "HK", "TW", "JP", "GB", "IN", "BR"]
SIGN_INS = int(os.environ.get("KITH_PHONE_SIGN_INS", "200"))  # per server
# The code limits are other gates' and tests' to prove; here one client asks for many numbers' codes.
LIMITS = {
    "KITH_CODES_PER_ADDRESS_HOUR": "1000000",
    "KITH_CODES_PER_NETWORK_HOUR": "1000000",
    "KITH_CODES_PUMPING_NUMBERS": "1000000",
    "KITH_CODES_PER_NUMBER_HOUR": "1000",
    "KITH_CODES_PER_NUMBER_DAY": "1000",
}
DIGITS = re.compile(rb"\d{7,}")


class Labelled:
    """One text with libphonenumber's reading under a region."""

    def __init__(self, text: str, region: str):
        self.text = text
        self.e164: str | None = None
        self.mobile = False
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return
        if phonenumbers.is_valid_number(number):
            self.e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
            self.mobile = kithgates.is_mobile(self.e164)

    def __repr__(self) -> str:
        return f"{self.text!r} ({self.e164 or 'invalid'}{'' if self.mobile or not self.e164 else ', not mobile'})"


class Tally:
    def __init__(self, name: str):
        self.name = name
        self.kept = self.kept_agree = self.dropped = self.dropped_agree = 0
        self.disagreements: list[str] = []

    def count(self, entry: Labelled, agrees: bool, what: str, region: str) -> None:
        if entry.mobile:
            self.kept += 1
            self.kept_agree += agrees
        else:
            self.dropped += 1
            self.dropped_agree += agrees
        if not agrees:
            self.disagreements.append(f"{region} {entry!r}: {what}")

    def report(self) -> None:
        print(f"{self.name}: {self.kept_agree}/{self.kept} mobile numbers agree, "
              f"{self.dropped_agree}/{self.dropped} others refused")
        for line in self.disagreements[:60]:
            print("  " + line)
        assert self.kept >= 500 and self.dropped >= 200, "the corpus is too small to decide"
        assert self.kept_agree >= 0.995 * self.kept, f"{self.name}: mobile numbers agreeing {self.kept_agree}/{self.kept}"
        assert self.dropped_agree >= 0.99 * self.dropped, f"{self.name}: others refused {self.dropped_agree}/{self.dropped}"


def record(entry: Labelled) -> None:
    """Every number the gate sends goes to the secrets register, so the log scan looks for it."""
    if entry.e164:
        kithgates.record_phone(entry.e164)
    digits = "".join(ch for ch in entry.text if ch.isdigit() and ch.isascii())
    if len(digits) >= 7 and not entry.e164:
        kithgates.record_secret("phone", "+" + digits)


def discoverable_owner(server: KithServer, e164: str, notice: dict) -> kithgates.Session:
    person = server.sign_up(e164)
    evidence = kithgates.grant_body(notice, "discoverable-by-phone")
    evidence.pop("purpose")
    r = server.client(token=person.token).request("PUT", "/v1/me/discoverability", {"discoverable": True, **evidence})
    assert r.status == 200, r
    return person


def check_upload(server: KithServer, region: str, entries: list[Labelled], tally: Tally) -> set[str]:
    """Returns the numbers of the accounts it made (they just received a code)."""
    notice = server.client().get("/v1/privacy/notice?locale=en", token=None).json()
    # Owners: numbers that appear in several written forms in this share, each form must find them.
    forms: dict[str, int] = {}
    for entry in entries:
        if entry.mobile:
            forms[entry.e164] = forms.get(entry.e164, 0) + 1
    owners = sorted((e164 for e164, n in forms.items() if n >= 2), key=lambda e: -forms[e])[:4]
    owner_ids = {e164: discoverable_owner(server, e164, notice).user_id for e164 in owners}

    uploader = None
    remaining = 0
    matched_forms = 0
    for start in range(0, len(entries), 400):
        batch = entries[start:start + 400]
        if remaining < len(batch):
            uploader = server.sign_up()
            grant = kithgates.grant_body(notice, "contact-discovery")
            assert server.client(token=uploader.token).post("/v1/me/consents", grant).status == 201
        r = server.client(token=uploader.token).post("/v1/me/contacts/matches", {"numbers": [e.text for e in batch]})
        assert r.status == 200, r
        body = r.json()
        kithgates.record_secret("token", body["recheckToken"])
        remaining = body["quotaRemaining"]
        invalid = {item["index"]: item["reason"] for item in body["invalid"]}
        matches = {item["index"]: item["userId"] for item in body["matches"]}
        for index, entry in enumerate(batch):
            if index in matches:
                # A match is never a wrong person: the account of the number libphonenumber reads.
                assert entry.e164 in owner_ids and matches[index] == owner_ids[entry.e164], \
                    f"{region}: upload entry {index} matched someone else's account"
                matched_forms += 1
            if entry.mobile:
                tally.count(entry, index not in invalid, f"dropped as {invalid.get(index)}", region)
            elif entry.e164:
                tally.count(entry, invalid.get(index) == "not-mobile", f"reason {invalid.get(index, 'kept')}", region)
            else:
                tally.count(entry, index in invalid and invalid[index] != "not-mobile",
                            f"reason {invalid.get(index, 'kept')}", region)
    expected = sum(1 for e in entries if e.e164 in owner_ids)
    assert matched_forms >= 0.99 * expected, f"{region}: {matched_forms}/{expected} written forms of owners matched"

    # CON-03: what matched no one leaves no trace — no unmatched number in clear in the database files.
    unmatched = {e.e164.lstrip("+") for e in entries if e.e164 and e.e164 not in owner_ids}
    national = {phonenumbers.format_number(phonenumbers.parse(e.e164), PhoneNumberFormat.NATIONAL).translate(
        {ord(c): None for c in " -()"}) for e in entries if e.e164 and e.e164 not in owner_ids}
    held: set[bytes] = set()
    for path in Path(server.dir).glob("kith.sqlite*"):
        held.update(DIGITS.findall(path.read_bytes()))
    traces = {d.decode() for d in held} & (unmatched | {n for n in national if len(n) >= 8})
    assert not traces, f"{region}: {len(traces)} unmatched numbers are in the database files in clear"
    return set(owner_ids)


def check_sign_in(server: KithServer, region: str, entries: list[Labelled], tally: Tally, owners: set[str]) -> None:
    seen: set[str] = set(owners)  # a code just went to each: the back-off is the limits' tests' business
    sample: list[Labelled] = []
    for entry in entries:
        key = entry.e164 or entry.text
        if key not in seen:
            seen.add(key)
            sample.append(entry)
    mobiles = [e for e in sample if e.mobile][:SIGN_INS]
    others = [e for e in sample if not e.mobile][: SIGN_INS // 2]
    client = server.client(source_ip=server.addresses.take())
    baseline = server.outbox_lines()  # the sign-up codes of the upload check
    sent = 0
    for entry in mobiles + others:
        before = server.outbox_lines()
        r = client.post("/v1/auth/verifications", {"phone": entry.text}, token=None)
        if r.status == 202:
            sent += 1
            recipient = None
            deadline = time.monotonic() + 5
            while recipient is None and time.monotonic() < deadline:
                lines = Path(server.outbox).read_text(encoding="utf-8").splitlines()[before:]
                for line in lines:
                    try:
                        message = json.loads(line)
                    except ValueError:
                        continue
                    recipient = message.get("to")
                    code = re.search(r"(?<!\d)(\d{6})(?!\d)", message.get("body", ""))
                    if code:
                        kithgates.record_secret("code", code.group(1))
                    break
                else:
                    time.sleep(0.01)
            tally.count(entry, entry.mobile and recipient == entry.e164, f"code sent to {recipient}", region)
        else:
            assert r.status in (422, 429), r
            if r.status == 422:
                # The problem names the field and echoes none of the digits.
                assert r.content_type == "application/problem+json", r
                digits = "".join(ch for ch in entry.text if ch.isdigit() and ch.isascii())
                text = r.body.decode()
                assert not any(digits[i:i + 5] in text for i in range(0, max(0, len(digits) - 4))), \
                    f"{region}: a refusal echoed digits of the number"
            tally.count(entry, not entry.mobile and r.status == 422, f"answered {r.status}", region)
    client.close()
    time.sleep(0.2)
    assert server.outbox_lines() == baseline + sent, f"{region}: the outbox holds more messages than codes were sent"


def test_phone_numbers_through_the_live_api(servers):
    corpus = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    assert len(corpus) >= 10_000
    upload, sign_in = Tally("upload"), Tally("sign-in")
    for i, region in enumerate(REGIONS):
        entries = [Labelled(item["input"], region) for item in corpus[i::len(REGIONS)]]
        for entry in entries:
            record(entry)
        server = servers.add(KithServer(f"phones-{region.lower()}", extra_env={**LIMITS, "KITH_DEFAULT_REGION": region}))
        server.start()
        owners = check_upload(server, region, entries, upload)
        check_sign_in(server, region, entries, sign_in, owners)
        server.stop()
    upload.report()
    sign_in.report()
