"""schemathesis hooks for the contract-fuzzing gate (loaded through SCHEMATHESIS_HOOKS=st_hooks).

1. Authentication. Every operation is called as the fuzz test user (a real session made through the
   outbox, with every consent granted). Two exceptions: `signOut` revokes the token it is called
   with, so each signOut case gets a session of its own, minted on the spot (a fresh number, from a
   fresh loopback address so the per-address code limit is respected, not weakened); and
   `withdrawConsent` runs as a second person, so the fuzz user keeps the consents other operations
   need.

2. A narrow failure filter for one schemathesis false positive, explained below. Every other check
   result stands: 5xx, schema mismatches, undocumented statuses, accepted invalid data, ignored auth,
   wrong answers to undeclared methods all fail the gate.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import schemathesis  # noqa: E402
from kithgates import KithServer, SourceAddresses, record_secret  # noqa: E402

_BASE_URL = os.environ["KITH_FUZZ_BASE_URL"]
_TOKEN = os.environ["KITH_FUZZ_TOKEN"]
# withdrawConsent runs as a second person: withdrawing the fuzz user's own consents would leave the
# operations that need one (uploadContacts needs contact-discovery) answering 403 for the rest of
# the run, fuzzed no deeper than the consent check.
_WITHDRAW_TOKEN = os.environ["KITH_FUZZ_WITHDRAW_TOKEN"]
_port = int(_BASE_URL.rsplit(":", 1)[1])

# A handle on the running fuzz server (not started here: only its URL and outbox are used).
_server = KithServer(
    "fuzz-mint",
    port=_port,
    outbox=os.environ["KITH_FUZZ_OUTBOX"],
    directory=Path(os.environ["KITH_GATES_WORKDIR"]) / "fuzz-mint",
    # 127.0.0.2 made the fuzz user; the minted sessions come from 127.10.x.1 on.
    addresses=SourceAddresses(per_address=4, block=10),
)
_mint_lock = threading.Lock()
_minted = 0


def _set_bearer(case, token: str) -> None:
    headers = dict(case.headers or {})
    headers["Authorization"] = f"Bearer {token}"
    case.headers = headers


@schemathesis.auth(refresh_interval=None).apply_to(operation_id="signOut")
class FreshSessionPerSignOut:
    def get(self, case, ctx):
        global _minted
        with _mint_lock:
            session = _server.sign_up()
            _minted += 1
            with open(Path(os.environ["KITH_GATES_WORKDIR"]) / "fuzz-minted.txt", "w") as f:
                f.write(str(_minted))
        return session.token

    def set(self, case, data, ctx):
        _set_bearer(case, data)


@schemathesis.auth(refresh_interval=None).apply_to(operation_id="withdrawConsent")
class SecondPersonForWithdrawals:
    def get(self, case, ctx):
        return _WITHDRAW_TOKEN

    def set(self, case, data, ctx):
        _set_bearer(case, data)


@schemathesis.auth(refresh_interval=None).skip_for(operation_id_regex="^(signOut|withdrawConsent)$")
class FuzzUserSession:
    def get(self, case, ctx):
        return _TOKEN

    def set(self, case, data, ctx):
        _set_bearer(case, data)


# --------------------------------------------------------------------------------------------------
# The one tolerated false positive: positive_data_acceptance (ST202) on semantic validation.
#
# The check assumes that every request valid under the JSON Schema is accepted. These operations
# validate meaning that JSON Schema cannot state, and answer with a documented status and a
# documented, specific problem code naming the field:
#   - startPhoneVerification: whether a string is a dialable mobile number (422 invalid-field, phone);
#   - verifyPhone: whether `noticeVersion` names a published notice (422 notice-mismatch,
#     noticeVersion); whether the code matches the verification (400 verification-failed) — a
#     generated code for a generated verification ID can never be right;
#   - grantConsent: whether textSHA256/noticeVersion match the notice served (422 notice-mismatch),
#     whether the control was unchecked (422 consent-prechecked: "checked" is in the enum so the
#     client can report it, and it is always refused, ACC-02), whether `purpose` names a consent
#     purpose of the notice (422 invalid-field, purpose);
#   - withdrawConsent: whether `purpose` names a consent purpose (422 invalid-field, purpose);
#   - startNumberOptOut / confirmNumberOptOut: as startPhoneVerification / verifyPhone;
#   - startPhoneNumberChange / changePhoneNumber: as startPhoneVerification / verifyPhone (DSR-03);
#   - deleteMyAccount: as verifyPhone — a code sent to the account's own number (DSR-04);
#   - submitDataRequest: a `text` of white space only says nothing (422 invalid-field, text);
#   - setDiscoverability: the consent evidence as for grantConsent (notice-mismatch,
#     consent-prechecked);
#   - uploadContacts: whether `recheckToken` proves `previousNumbers` (422 invalid-field,
#     recheckToken) — a keyed digest the client got from an earlier upload, unguessable by design.
#   - updateSuggestionSettings: turning `personalised` or `reverseContactSuggestions` on is a consent,
#     with the same evidence as grantConsent (notice-mismatch, consent-prechecked) — bound to the
#     text GET /v1/me/suggestion-settings serves, which a generator cannot guess.
#   - previewInvitation: whether a string is a phone number (422 invalid-field, phone); SMS where the
#     operator did not turn it on (422 invalid-field, channel); an inviter without a display name
#     (409 conflict, displayName: nothing would say who it is from); a number that cannot be invited
#     (409 not-invitable: MSG-05's one answer for an opted-out, lately invited or registered number).
#   - sendInvitation: whether `previewToken` is a token previewInvitation sealed for this person
#     (422 invalid-field, previewToken) — authenticated encryption, unguessable by design.
#   - receiveInboundMessage: the provider signs the body with a secret the generator does not have
#     (401 unauthenticated): the webhook refuses every unsigned call, which is the point (MSG-05).
#   - optOutFromMessages: whether `linkCode` is the code of an invitation's link (404 not-found,
#     linkCode) — random, unguessable by design.
# Only those exact (status, code, field) triples are filtered; anything else (another status, a
# problem without these codes, a 5xx) still fails.
SEMANTIC_REJECTIONS: dict[str, set[tuple[int, str, str | None]]] = {
    "startPhoneVerification": {(422, "invalid-field", "phone")},
    "verifyPhone": {
        (400, "verification-failed", "verificationId"),
        (400, "verification-failed", "code"),
        (422, "notice-mismatch", "noticeVersion"),
    },
    "grantConsent": {
        (422, "notice-mismatch", None),
        (422, "notice-mismatch", "textSHA256"),
        (422, "notice-mismatch", "noticeVersion"),
        (422, "notice-mismatch", "locale"),
        (422, "consent-prechecked", "initialState"),
        (422, "invalid-field", "purpose"),
    },
    "withdrawConsent": {(422, "invalid-field", "purpose")},
    "startNumberOptOut": {(422, "invalid-field", "phone")},
    "startPhoneNumberChange": {(422, "invalid-field", "phone")},
    "changePhoneNumber": {(400, "verification-failed", "verificationId"), (400, "verification-failed", "code")},
    "confirmNumberOptOut": {(400, "verification-failed", "verificationId"), (400, "verification-failed", "code")},
    "deleteMyAccount": {(400, "verification-failed", "verificationId"), (400, "verification-failed", "code")},
    "submitDataRequest": {(422, "invalid-field", "text")},
    "setDiscoverability": {
        (422, "notice-mismatch", None),
        (422, "notice-mismatch", "textSHA256"),
        (422, "notice-mismatch", "noticeVersion"),
        (422, "notice-mismatch", "locale"),
        (422, "consent-prechecked", "initialState"),
    },
    "uploadContacts": {(422, "invalid-field", "recheckToken")},
    "previewInvitation": {
        (422, "invalid-field", "phone"),
        (422, "invalid-field", "channel"),
        (409, "conflict", "displayName"),
        (409, "not-invitable", None),
    },
    "sendInvitation": {(422, "invalid-field", "previewToken")},
    "receiveInboundMessage": {(401, "unauthenticated", None)},
    "optOutFromMessages": {(404, "not-found", "linkCode")},
    "updateSuggestionSettings": {
        (422, "notice-mismatch", None),
        (422, "notice-mismatch", "textSHA256"),
        (422, "notice-mismatch", "noticeVersion"),
        (422, "notice-mismatch", "locale"),
        (422, "consent-prechecked", "initialState"),
    },
}

_filtered_path = Path(os.environ["KITH_GATES_WORKDIR"]) / "fuzz-filtered.jsonl"
_filtered_lock = threading.Lock()


@schemathesis.hook
def filter_failure(context, failure, case, response):
    if getattr(failure, "code", None) != "ST202":
        return True
    operation_id = case.operation.definition.raw.get("operationId")
    allowed = SEMANTIC_REJECTIONS.get(operation_id)
    if not allowed:
        return True
    try:
        problem = json.loads(response.content)
    except (ValueError, TypeError):
        return True
    if not response.headers.get("content-type", [""])[0].startswith("application/problem+json"):
        return True
    key = (response.status_code, problem.get("code"), problem.get("field"))
    if key not in allowed:
        return True
    with _filtered_lock:
        with open(_filtered_path, "a") as f:
            f.write(json.dumps({"operationId": operation_id, "status": key[0], "code": key[1], "field": key[2]}) + "\n")
    return False


# Phone numbers that the fuzzer itself sends and the server accepts are personal data too: record
# the E.164 form of every accepted startPhoneVerification so the log gate scans for them.
@schemathesis.hook
def after_call(context, case, response):
    if context.operation is None:
        return
    if case.operation.definition.raw.get("operationId") in (
        "startPhoneVerification",
        "startNumberOptOut",
        "startPhoneNumberChange",
        "previewInvitation",
    ) and response.status_code in (200, 202):
        body = case.body if isinstance(case.body, dict) else {}
        phone = body.get("phone")
        if isinstance(phone, str):
            record_secret("fuzz-phone-input", phone)
