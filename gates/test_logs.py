"""Gate 6 — secrets and personal data stay out of logs (issue 5; SEC-08, ASVS 7.1.1/7.1.2).

Every `kith serve` of every gate ran with KITH_LOG_LEVEL=trace and its stdout/stderr captured under
`<workdir>/logs/`, as are the outputs of `kith ledger verify`. This gate runs last (conftest orders
it). It first drives one more server through the paths most likely to leak — numbers in several
written forms, wrong codes, unknown verification IDs, malformed and revoked tokens — and then scans
all captured logs for every phone number (E.164, without "+", national, spaced), every verification
code and every token the gates used (the register `<workdir>/secrets.jsonl`). Any hit fails the gate,
naming the kind that leaked and the log file, never the value.
"""

from __future__ import annotations

import base64
import json
import re
from collections import defaultdict
from pathlib import Path

import yaml

import kithgates
from kithgates import KithServer


def exercise_leaky_paths() -> None:
    server = KithServer("log-probe").start()
    try:
        phone = kithgates.new_phone()
        national = kithgates.national_form(phone)
        # The same number written the ways people write it.
        spaced = f"{national[:3]} {national[3:7]} {national[7:]}"
        dashed = f"+86-{national[:3]}-{national[3:7]}-{national[7:]}"
        session = server.sign_up(phone, typed=spaced)
        client = server.client(source_ip=server.addresses.take())
        started = server.ask_code(client, dashed)
        assert started.status == 202, started
        vid = started.json()["verificationId"]
        code = server.read_code(phone)
        wrong = f"{(int(code) + 1) % 1000000:06d}"
        kithgates.record_secret("code", wrong)
        assert client.post("/v1/auth/sessions", {"verificationId": vid, "code": wrong}, token=None).status == 400
        assert client.post("/v1/auth/sessions", {"verificationId": "v_" + "x" * 22, "code": code}, token=None).status == 400
        # Invalid numbers and unknown fields echo nothing back and log nothing.
        bogus = "+86" + national[:-1]
        kithgates.record_phone(phone)
        client.post("/v1/auth/verifications", {"phone": bogus, "name": national}, token=None)
        client.post("/v1/auth/verifications", {"phone": national + "9"}, token=None)
        # Tokens: a real one, one signed out, a malformed one.
        assert server.client(token=session.token).get("/v1/me").status == 200
        assert server.client(token=session.token).delete("/v1/auth/sessions/current").status == 204
        assert server.client(token=session.token).get("/v1/me").status == 401
        fake = "Zm9vYmFyYmF6cXV4cXV1eHF1dXpxdXV6cXV1enF1dXo"
        kithgates.record_secret("token", fake)
        assert server.client(token=fake).get("/v1/me").status == 401
        client.close()
        paths = yaml.safe_load(server.client().get("/openapi.yaml", token=None).body).get("paths", {})
        if "/v1/me/contacts/matches" in paths:
            exercise_discovery(server)
        if "/v1/number-opt-out" in paths:
            exercise_number_opt_out(server)
    finally:
        server.stop()
    server.ledger_verify()


def exercise_discovery(server: KithServer) -> None:
    """Uploaded address books: third parties' numbers, matched or not, valid or not (CON-03)."""
    uploader, found = server.sign_up(), server.sign_up()
    notice = server.client().get("/v1/privacy/notice?locale=en", token=None).json()
    grant = kithgates.grant_body(notice, "contact-discovery")
    assert server.client(token=uploader.token).post("/v1/me/consents", grant).status == 201
    evidence = kithgates.grant_body(notice, "discoverable-by-phone")
    evidence.pop("purpose")
    assert server.client(token=found.token).request("PUT", "/v1/me/discoverability", {"discoverable": True, **evidence}).status == 200
    strangers = [kithgates.new_phone() for _ in range(5)]
    numbers = [found.phone, kithgates.national_form(strangers[0]), strangers[1], f"+86 {strangers[2][3:6]} {strangers[2][6:]}",
               strangers[3][:-2], "+8612"]
    kithgates.record_phone(strangers[3])
    r = server.client(token=uploader.token).post("/v1/me/contacts/matches", {"numbers": numbers})
    assert r.status == 200, r
    again = server.client(token=uploader.token).post(
        "/v1/me/contacts/matches", {"numbers": [strangers[4]], "previousNumbers": numbers, "recheckToken": r.json()["recheckToken"]}
    )
    kithgates.record_secret("token", r.json()["recheckToken"])
    assert again.status in (200, 422), again


def exercise_number_opt_out(server: KithServer) -> None:
    """A non-user's number, its code, a wrong code."""
    phone = kithgates.new_phone()
    client = server.client(source_ip=server.addresses.take())
    started = client.post("/v1/number-opt-out/verifications", {"phone": phone}, token=None)
    assert started.status == 202, started
    vid = started.json()["verificationId"]
    code = server.read_code(phone, kind=None)
    wrong = f"{(int(code) + 7) % 1000000:06d}"
    kithgates.record_secret("code", wrong)
    client.post("/v1/number-opt-out", {"verificationId": vid, "code": wrong, "action": "inquire"}, token=None)
    r = client.post("/v1/number-opt-out", {"verificationId": vid, "code": code, "action": "suppress"}, token=None)
    assert r.status == 200, r
    client.close()


def phone_forms(e164: str) -> set[str]:
    digits = e164.lstrip("+")
    forms = {digits}
    if e164.startswith("+86"):
        forms.add(e164[3:])
    return forms


DIGIT_RUN = re.compile(r"\d+")
SEPARATED_NUMBER = re.compile(r"\+?\d[\d \-().]{6,}\d")
BOUNDED_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d+(?![0-9A-Za-z])")
TOKENISH = re.compile(r"[A-Za-z0-9_\-]{16,}")


KEY_FIELDS = re.compile(r"(encryption|blindIndex|logSigning)Bytes")


def key_material() -> set[str]:
    """Every development key the gates' servers generated, as base64 and as the start of its byte list
    (the form a Swift description of a struct holding it would print)."""
    found: set[str] = set()
    for path in kithgates.workdir().rglob("kith.keys"):
        try:
            keys = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for value in keys.values():
            found.add(value)
            raw = base64.b64decode(value)
            found.add("[" + ", ".join(str(b) for b in raw[:8]))
    return found


def scan(path: Path, secrets: dict[str, set[str]], hits: dict[str, dict[str, int]], keys: set[str] = frozenset()) -> int:
    phones: dict[str, str] = {}
    for kind in ("phone", "fuzz-phone-input"):
        for value in secrets.get(kind, ()):
            digits = re.sub(r"\D", "", value)
            if kind == "phone":
                for form in phone_forms(value):
                    phones[form] = "phone number"
            elif len(digits) >= 8:
                phones[digits] = "phone number (fuzzer input)"
    codes = secrets.get("code", set())
    tokens = secrets.get("token", set())
    token_lengths = {len(t) for t in tokens}
    lines = 0
    with open(path, "r", encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("=== "):  # the harness's own markers
                continue
            lines += 1
            # Key material: a printed key field or any of the keys themselves (SEC-02).
            if KEY_FIELDS.search(line) or any(key in line for key in keys):
                hits["key material"][path.name] += 1
            runs = set(DIGIT_RUN.findall(line))
            for match in SEPARATED_NUMBER.findall(line):
                runs.add(re.sub(r"\D", "", match))
            for run in runs:
                if run in phones:
                    hits[phones[run]][path.name] += 1
                elif len(run) > 8:
                    for form, label in phones.items():
                        if form in run and len(form) >= 11:
                            hits[label][path.name] += 1
                            break
            if codes:
                for run in BOUNDED_DIGITS.findall(line):
                    if run in codes:
                        hits["verification code"][path.name] += 1
            if tokens:
                for run in TOKENISH.findall(line):
                    for n in token_lengths:
                        if len(run) >= n and any(run[i:i + n] in tokens for i in range(len(run) - n + 1)):
                            hits["session token"][path.name] += 1
                            break
    return lines


def test_no_personal_data_or_secret_in_any_log():
    exercise_leaky_paths()
    secrets = kithgates.read_secrets()
    logs = sorted(p for p in kithgates.logs_dir().iterdir() if p.is_file() and not p.name.startswith("wrk-"))
    assert logs, "no server log was captured"
    assert secrets.get("phone") and secrets.get("code") and secrets.get("token"), "the secrets register is incomplete"
    hits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    keys = key_material()
    lines = sum(scan(path, secrets, hits, keys) for path in logs)
    summary = (
        f"log scan: {len(logs)} log files, {lines:,} lines, {sum(len(v) for v in secrets.values()):,} secrets "
        f"({', '.join(f'{len(v)} {k}' for k, v in sorted(secrets.items()))})"
    )
    print(summary)
    (kithgates.workdir() / "logs-summary.txt").write_text(summary + "\n")
    if hits:
        report = [f"{kind}: {sum(files.values())} hit(s) in {', '.join(sorted(files))}" for kind, files in sorted(hits.items())]
        raise AssertionError(summary + "\npersonal data or secrets in the logs (values withheld):\n" + "\n".join(report))
