"""Gate 2 — cross-user access (issue 5; SEC-02; OWASP API Top 10 2023 API1 object level, API3 property
level, API5 function level authorisation).

Two people, A and B, sign up through the outbox. The operation list comes from GET /openapi.yaml of
the binary under test, and every operation must be either
  * PUBLIC (needs no authentication: listed by name below), or
  * in CASES: a function that proves B can neither read nor change A's objects through it, or
  * in OPERATOR_ONLY: an ordinary signed-in person gets 403.
An operation in the document that is in none of these fails the suite, so a new operation forces a
new case. Separately, every operation the document marks as secured answers 401 problem+json
(code `unauthenticated`) without a token, with a malformed token, and with a signed-out token.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from typing import Callable

import pytest
import yaml

import kithgates
from kithgates import Client, KithServer, Session

# Operations that need no authentication, by operationId. Adding one here is a security decision.
PUBLIC = {
    "health",
    "getMetrics",
    "getOpenAPIDocument",
    "getPrivacyNotice",
    "listPurposes",
    "startPhoneVerification",
    "verifyPhone",
    "startNumberOptOut",  # a non-user proves control of a number by a code (CON-08)
    "confirmNumberOptOut",
    # The deletion ID handed to the person who asked is the capability; the answer names no one (DSR-04).
    # deleteMyAccount's case checks that another person's deletion tells nothing about them.
    "getAccountDeletionStatus",
    "getExportSchema",
    # The code of an invitation's link is the capability; it suppresses the number it went to (CON-08).
    "optOutFromMessages",
}

# Operations only a partner may call (ACC-05): a person's session gets 403.
PARTNER_ONLY: set[str] = {"createReferralCode", "getReferralStats"}

# Operations the SMS provider calls, signed with the shared secret rather than a person's session.
PROVIDER_SIGNED: set[str] = {"receiveInboundMessage"}

# Operations only an operator may call: a person's session gets 403.
OPERATOR_ONLY: set[str] = {
    "getMessageEvidence", "verifyErasure", "listDataRequests", "resolveDataRequest", "sendMarketingCampaign",
}

# Values for path parameters when an operation is called generically (unauthenticated checks).
PATH_VALUES = {
    "purpose": "contact-discovery",
    "userId": "00000000-0000-4000-8000-000000000000",
    "requestId": "00000000-0000-4000-8000-000000000001",
    "endorsementId": "00000000-0000-4000-8000-000000000002",
    "messageId": "m_00000000000000000000",
    "deletionId": "del_0000000000000000000000",
}


@dataclass
class World:
    server: KithServer
    a: Session
    b: Session
    notice: dict
    document: dict

    def __repr__(self) -> str:  # keeps tokens and numbers out of pytest's tracebacks
        return f"<World {self.server.name}>"

    def client(self, who: Session | None) -> Client:
        return self.server.client(token=who.token if who else None)


@pytest.fixture(scope="module")
def world():
    server = KithServer("cross-user").start()
    try:
        a = server.sign_up()
        b = server.sign_up()
        c = server.client()
        document = yaml.safe_load(c.get("/openapi.yaml", token=None).body)
        notice = c.get("/v1/privacy/notice?locale=en", token=None).json()
        yield World(server=server, a=a, b=b, notice=notice, document=document)
    finally:
        server.stop()


# --------------------------------------------------------------------------------------------------
# Helpers

def consents_of(world: World, who: Session) -> dict:
    r = world.client(who).get("/v1/me/consents")
    assert r.status == 200, r
    return r.json()


def status_of(consents: dict, purpose: str) -> dict:
    return next(s for s in consents["status"] if s["purpose"] == purpose)


def grant(world: World, who: Session, purpose: str) -> dict:
    r = world.client(who).post("/v1/me/consents", kithgates.grant_body(world.notice, purpose))
    assert r.status == 201, r
    return r.json()


def must_not_mention(body: bytes, who: Session, *extra: str) -> None:
    text = body.decode("utf-8", "replace")
    for value, what in [(who.user_id, "A's userId"), (who.phone, "A's phone number"),
                        (kithgates.national_form(who.phone), "A's phone number (national form)"),
                        (who.token, "A's token"), *[(e, "one of A's object IDs") for e in extra]]:
        assert value not in text, f"B's response carries {what}"


# --------------------------------------------------------------------------------------------------
# One case per operation that needs a signed-in person

def case_get_me(world: World) -> None:
    r = world.client(world.b).get("/v1/me")
    assert r.status == 200, r
    me = r.json()
    assert me["userId"] == world.b.user_id and me["phone"] == world.b.phone, "getMe answered someone else"
    must_not_mention(r.body, world.a)


def case_list_my_consents(world: World) -> None:
    purpose = kithgates.consent_purposes(world.notice)[0]["id"]
    record = grant(world, world.a, purpose)
    r = world.client(world.b).get("/v1/me/consents")
    assert r.status == 200, r
    assert record["id"] not in {x["id"] for x in r.json()["records"]}, "B sees A's consent record"
    must_not_mention(r.body, world.a, record["id"], record["evidence"])


def case_grant_consent(world: World) -> None:
    purpose = kithgates.consent_purposes(world.notice)[1]["id"]
    before = consents_of(world, world.a)
    # B grants for itself: A's ledger must not change.
    grant(world, world.b, purpose)
    # B tries to name A as the subject (property-level, API3): refused, and nothing changes for A.
    for extra in ({"userId": world.a.user_id}, {"subject": world.a.user_id}, {"user": world.a.user_id}):
        body = {**kithgates.grant_body(world.notice, purpose), **extra}
        r = world.client(world.b).post("/v1/me/consents", body)
        assert r.status in (400, 422) and r.problem_code() == "unknown-field", f"grantConsent took {list(extra)}: {r!r}"
    after = consents_of(world, world.a)
    assert after == before, "B's grant changed A's consent ledger"


def case_withdraw_consent(world: World) -> None:
    purpose = kithgates.consent_purposes(world.notice)[2]["id"]
    record = grant(world, world.a, purpose)
    # B withdraws the same purpose: only B's (none) are withdrawn.
    r = world.client(world.b).delete(f"/v1/me/consents/{purpose}")
    assert r.status == 200 and r.json()["withdrawn"] == 0, f"B's withdrawal touched someone's consent: {r!r}"
    # B addresses A's consent by its ID (object level, API1): not a purpose, refused.
    r = world.client(world.b).delete(f"/v1/me/consents/{record['id']}")
    assert r.status in (404, 422), f"withdrawConsent by A's consent ID answered {r!r}"
    a_now = consents_of(world, world.a)
    assert status_of(a_now, purpose)["granted"], "B withdrew A's consent"
    mine = next(x for x in a_now["records"] if x["id"] == record["id"])
    assert mine.get("withdrawnAt") is None, "A's consent record was stamped withdrawn by B"


def case_sign_out(world: World) -> None:
    # B signs out (with B's session): A's session is untouched, B's is gone.
    b2 = world.server.sign_up(world.b.phone)  # a second session of B, to spend here
    r = world.server.client(token=b2.token).delete("/v1/auth/sessions/current")
    assert r.status == 204, r
    assert world.client(world.a).get("/v1/me").status == 200, "B's sign-out revoked A's session"
    assert world.server.client(token=b2.token).get("/v1/me").status == 401, "signed-out token still works"
    assert world.client(world.b).get("/v1/me").status == 200, "sign-out revoked B's other session"


def start_number_change(world: World, who: Session, phone: str) -> tuple[str, str]:
    """`who` asks for a code to change to `phone`, from a client address of its own: (verificationId, the
    code as the outbox holds it)."""
    before = world.server.outbox_lines()
    client = world.server.client(token=who.token, source_ip=world.server.addresses.take())
    try:
        r = world.server.ask_code(client, phone, "/v1/me/phone-number/verifications")
    finally:
        client.close()
    assert r.status == 202, r
    return r.json()["verificationId"], world.server.read_code(phone, after_line=max(0, before - 1))


def case_start_phone_number_change(world: World) -> None:
    # C asks to change to D's number: the answer is any number's; even with the code, D's account stays D's.
    # (Fresh people: A's and B's numbers have spent their hourly codes on other cases.)
    c, d = world.server.sign_up(), world.server.sign_up()
    verification, code = start_number_change(world, c, d.phone)
    must_not_mention(world.client(c).get("/v1/me").body, d)
    r = world.client(c).request("PUT", "/v1/me/phone-number", {"verificationId": verification, "code": code})
    assert r.status == 409, f"a number another account holds answered {r!r}"
    must_not_mention(r.body, d)
    me = world.client(d).get("/v1/me").json()
    assert me["phone"] == d.phone and me["userId"] == d.user_id, "D's account moved"
    assert world.client(c).get("/v1/me").json()["phone"] == c.phone


def case_change_phone_number(world: World) -> None:
    # C's number-change code redeems for C only: A cannot use it to take the number.
    c = world.server.sign_up()
    target = kithgates.new_phone()
    verification, code = start_number_change(world, c, target)
    r = world.client(world.a).request("PUT", "/v1/me/phone-number", {"verificationId": verification, "code": code})
    assert r.status == 400, f"A redeemed C's number-change code: {r!r}"
    assert world.client(world.a).get("/v1/me").json()["phone"] == world.a.phone
    r = world.client(c).request("PUT", "/v1/me/phone-number", {"verificationId": verification, "code": code})
    assert r.status == 200 and r.json()["phone"] == target and r.json()["userId"] == c.user_id, r


def start_deletion(world: World, who: Session) -> tuple[str, str]:
    """`who` asks for a deletion code, from a client address of its own: (verificationId, the code sent to
    `who`'s own number as the outbox holds it)."""
    before = world.server.outbox_lines()
    r = ask_deletion_code(world, who, who.phone)
    assert r.status == 202, r
    return r.json()["verificationId"], world.server.read_code(who.phone, after_line=max(0, before - 1))


def ask_deletion_code(world: World, who: Session, phone: str):
    """`who` asks for a deletion code from a client address of its own, with `phone` in the body (which the
    server must ignore: the code goes to the account's own number)."""
    client = world.server.client(token=who.token, source_ip=world.server.addresses.take())
    try:
        return world.server.ask_code(client, phone, "/v1/me/deletion/verifications")
    finally:
        client.close()


def case_start_account_deletion(world: World) -> None:
    # C's deletion code goes to C's own number only, whatever the body says; D hears nothing.
    c, d = world.server.sign_up(), world.server.sign_up()
    before = world.server.outbox_lines()
    r = ask_deletion_code(world, c, d.phone)
    assert r.status == 202, r
    must_not_mention(r.body, d)
    world.server.read_code(c.phone, after_line=before)  # the account's own number has it
    try:
        world.server.read_code(d.phone, after_line=before, timeout=0.5)
    except AssertionError:
        pass
    else:
        raise AssertionError("a deletion code went to another person's number")
    assert world.client(d).get("/v1/me").status == 200 and world.client(c).get("/v1/me").status == 200


def case_delete_my_account(world: World) -> None:
    # C's deletion code deletes nobody in A's hands; C's own deletion leaves A and D as they were, and its
    # status names no one.
    c, d = world.server.sign_up(), world.server.sign_up()
    verification, code = start_deletion(world, c)
    r = world.client(world.a).post("/v1/me/deletion", {"verificationId": verification, "code": code})
    assert r.status == 400, f"A redeemed C's deletion code: {r!r}"
    assert world.client(c).get("/v1/me").status == 200, "A's use of C's code deleted C"
    r = world.client(c).post("/v1/me/deletion", {"verificationId": verification, "code": code})
    assert r.status == 200 and r.json()["status"] == "erased", r
    must_not_mention(r.body, c)
    assert world.server.client(token=c.token).get("/v1/me").status == 401, "a deleted account's session works"
    assert world.client(d).get("/v1/me").json()["userId"] == d.user_id
    status = world.server.client().get(f"/v1/account-deletions/{r.json()['deletionId']}")
    assert status.status == 200 and status.json()["status"] == "erased", status
    must_not_mention(status.body, c)


def case_export_my_data(world: World) -> None:
    # B's export is B's: A's number, profile values and token are not in it (A and B may be connected, so
    # A's user ID may be, as B's connection).
    r = world.client(world.b).get("/v1/me/export")
    assert r.status == 200 and r.content_type == "application/zip", r
    archive = zipfile.ZipFile(io.BytesIO(r.body))
    data = json.loads(archive.read("data.json"))
    assert data["userId"] == world.b.user_id and data["phone"] == world.b.phone
    for name in archive.namelist():
        content = archive.read(name)
        assert world.a.phone.encode() not in content and world.a.token.encode() not in content, name


def case_submit_data_request(world: World) -> None:
    # B's request is B's: it names B's words only, and A's own request is untouched by it.
    mine = world.client(world.a).post("/v1/me/data-requests", {"kind": "explanation", "text": "Why am I suggested?"})
    assert mine.status == 201, mine
    for extra in ({"userId": world.a.user_id}, {"requesterId": world.a.user_id}):
        unknown_field(world.client(world.b).post("/v1/me/data-requests", {"kind": "other", "text": "x", **extra}),
                      f"submitDataRequest with {list(extra)}")
    r = world.client(world.b).post("/v1/me/data-requests", {"kind": "objection", "text": "Stop the ranking."})
    assert r.status == 201 and r.json()["requestId"] != mine.json()["requestId"], r
    must_not_mention(r.body, world.a, mine.json()["requestId"])


def case_set_registration_lock(world: World) -> None:
    # B's lock is B's: A still signs in with a code alone.
    r = world.client(world.b).request("PUT", "/v1/me/registration-lock", {"pin": "482916"})
    assert r.status == 204, r
    kithgates.record_secret("code", "482916")
    again = world.server.sign_up(world.a.phone)
    assert again.user_id == world.a.user_id and world.client(world.a).get("/v1/me").json()["registrationLock"] is False
    assert world.client(world.b).delete("/v1/me/registration-lock").status == 204


def case_remove_registration_lock(world: World) -> None:
    # B removing B's lock leaves A's in place.
    assert world.client(world.a).request("PUT", "/v1/me/registration-lock", {"pin": "739105"}).status == 204
    kithgates.record_secret("code", "739105")
    assert world.client(world.b).delete("/v1/me/registration-lock").status == 204
    assert world.client(world.a).get("/v1/me").json()["registrationLock"] is True, "B removed A's lock"
    assert world.client(world.a).delete("/v1/me/registration-lock").status == 204


def discoverability_body(world: World, on: bool) -> dict:
    if not on:
        return {"discoverable": False}
    body = kithgates.grant_body(world.notice, "discoverable-by-phone")
    body.pop("purpose")
    return {"discoverable": True, **body}


def set_discoverable(world: World, who: Session, on: bool) -> None:
    r = world.client(who).request("PUT", "/v1/me/discoverability", discoverability_body(world, on))
    assert r.status == 200 and r.json()["discoverable"] is on, r


def ensure_consent(world: World, who: Session, purpose: str) -> None:
    if not status_of(consents_of(world, who), purpose)["granted"]:
        grant(world, who, purpose)


def upload(world: World, who: Session, body: dict):
    return world.client(who).post("/v1/me/contacts/matches", body)


def case_upload_contacts(world: World) -> None:
    ensure_consent(world, world.a, "contact-discovery")
    ensure_consent(world, world.b, "contact-discovery")
    # B has not chosen to be discoverable: A's upload of B's number finds nobody (CON-05).
    set_discoverable(world, world.b, False)
    r = upload(world, world.a, {"numbers": [world.b.phone]})
    assert r.status == 200, r
    assert r.json()["matches"] == [], "an upload found a person who is not discoverable"
    must_not_mention(r.body, world.b)
    # B opts in: now A finds exactly B.
    set_discoverable(world, world.b, True)
    r = upload(world, world.a, {"numbers": [world.b.phone]})
    assert r.status == 200 and [m["userId"] for m in r.json()["matches"]] == [world.b.user_id], r
    a_token = r.json()["recheckToken"]
    # A's recheck token is A's object: B presenting it (for A's previous numbers) is refused.
    r = upload(world, world.b, {"numbers": [], "previousNumbers": [world.b.phone], "recheckToken": a_token})
    assert r.status == 422 and r.problem_code() == "invalid-field", f"B used A's recheck token: {r!r}"
    # B's own upload of A's number does not reveal A while A is not discoverable.
    set_discoverable(world, world.a, False)
    r = upload(world, world.b, {"numbers": [world.a.phone, kithgates.national_form(world.a.phone)]})
    assert r.status == 200 and r.json()["matches"] == [], "B found A, who is not discoverable"
    must_not_mention(r.body, world.a)
    set_discoverable(world, world.b, False)


def case_delete_my_contacts(world: World) -> None:
    ensure_consent(world, world.a, "contact-discovery")
    set_discoverable(world, world.b, True)
    r = upload(world, world.a, {"numbers": [world.b.phone]})
    assert r.status == 200 and r.json()["matches"], r
    set_discoverable(world, world.b, False)
    # B deletes B's contacts (twice): A's edge to B is not B's to delete.
    for _ in range(2):
        r = world.client(world.b).delete("/v1/me/contacts")
        assert r.status == 200, r
    assert r.json()["deleted"] == 0
    r = world.client(world.a).delete("/v1/me/contacts")
    assert r.status == 200 and r.json()["deleted"] >= 1, f"A's contact edges did not survive B's deletion: {r!r}"


def case_get_discoverability(world: World) -> None:
    set_discoverable(world, world.a, True)
    set_discoverable(world, world.b, False)
    r = world.client(world.b).get("/v1/me/discoverability")
    assert r.status == 200 and r.json()["discoverable"] is False, f"B reads A's setting: {r!r}"
    must_not_mention(r.body, world.a)
    set_discoverable(world, world.a, False)


def case_set_discoverability(world: World) -> None:
    set_discoverable(world, world.a, True)
    set_discoverable(world, world.b, False)
    r = world.client(world.a).get("/v1/me/discoverability")
    assert r.status == 200 and r.json()["discoverable"] is True, "B's setting changed A's"
    for extra in ({"userId": world.a.user_id}, {"user": world.a.user_id}):
        r = world.client(world.b).request("PUT", "/v1/me/discoverability", {**discoverability_body(world, False), **extra})
        assert r.status in (400, 422) and r.problem_code() == "unknown-field", f"setDiscoverability took {list(extra)}: {r!r}"
    assert world.client(world.a).get("/v1/me/discoverability").json()["discoverable"] is True
    set_discoverable(world, world.a, False)


# --------------------------------------------------------------------------------------------------
# The network (issue 4): profiles, connections, blocks, endorsements, suggestions. Every case leaves
# A and B as it found them (not connected, not blocked, no pending requests between them,
# personalisation off), so the cases do not depend on their order; a third person C (and D) is a
# fresh sign-up of the case that needs one.

def fresh(world: World, name: str | None = None) -> Session:
    person = world.server.sign_up()
    if name:
        patch_profile(world, person, {"displayName": name})
    return person


def secret(label: str) -> str:
    """A value only one person's hidden field holds, so finding it in a response is proof of a leak."""
    return f"{label}-{uuid.uuid4().hex[:12]}"


def ok(r, *statuses: int, what: str = "") -> None:
    assert r.status in statuses, f"{what} answered {r!r}"


def not_found(r, what: str) -> None:
    assert r.status == 404 and r.problem_code() == "not-found", f"{what} answered {r!r} (want 404 not-found)"


def unknown_field(r, what: str) -> None:
    assert r.status in (400, 422) and r.problem_code() == "unknown-field", f"{what} answered {r!r} (want unknown-field)"


def patch_profile(world: World, who: Session, body: dict) -> dict:
    r = world.client(who).request("PATCH", "/v1/me/profile", body)
    assert r.status == 200, r
    return r.json()


def profile(world: World, viewer: Session, owner_id: str):
    return world.client(viewer).get(f"/v1/users/{owner_id}/profile?locale=en")


def own_profile(world: World, who: Session) -> dict:
    r = profile(world, who, who.user_id)
    assert r.status == 200 and r.json()["relationship"] == "self", r
    return r.json()


def a_hidden_profile(world: World) -> dict[str, str]:
    """Gives A a profile whose fields are hidden from strangers (employer: connections, the default)
    and from everyone (city, headline: only-me); returns the values, which B must never receive."""
    hidden = {"employer": secret("a-employer"), "city": secret("a-city"), "headline": secret("a-headline")}
    patch_profile(world, world.a, {"displayName": "Ann", **hidden,
                                   "visibility": {"displayName": "everyone", "employer": "connections",
                                                  "city": "only-me", "headline": "only-me"}})
    return hidden


def no_hidden_values(body: bytes, hidden, what: str) -> None:
    text = body.decode("utf-8", "replace")
    for value in hidden:
        assert value not in text, f"{what} carries a value A hides from B"


def no_secrets_of(body: bytes, who: Session, *extra: str) -> None:
    """Like must_not_mention, for lists where A may appear by ID (a plain suggestion list names people)."""
    text = body.decode("utf-8", "replace")
    for value in (who.phone, kithgates.national_form(who.phone), who.token, *extra):
        assert value not in text, "B's response carries A's phone number, token or a value A hides"


def request_connection(world: World, sender: Session, recipient: Session):
    return world.client(sender).post("/v1/me/connection-requests", {"userId": recipient.user_id})


def respond(world: World, who: Session, request_id: str, action: str, **extra):
    return world.client(who).post(f"/v1/me/connection-requests/{request_id}", {"action": action, **extra})


def requests_of(world: World, who: Session) -> dict:
    r = world.client(who).get("/v1/me/connection-requests")
    assert r.status == 200, r
    return r.json()


def connect(world: World, x: Session, y: Session) -> None:
    asked = request_connection(world, x, y)
    if asked.status == 409:  # already connected
        return
    assert asked.status in (200, 201), asked
    if asked.json()["status"] == "accepted":
        return
    r = respond(world, y, asked.json()["requestId"], "accept")
    assert r.status == 200 and r.json()["status"] == "accepted", r


def disconnect(world: World, x: Session, y: Session) -> None:
    ok(world.client(x).delete(f"/v1/me/connections/{y.user_id}"), 204, 404, what="removeConnection")


def block(world: World, x: Session, y: Session) -> None:
    ok(world.client(x).post("/v1/me/blocks", {"userId": y.user_id}), 204, what="blockUser")


def unblock(world: World, x: Session, y: Session) -> None:
    ok(world.client(x).delete(f"/v1/me/blocks/{y.user_id}"), 204, 404, what="unblockUser")


def connection_ids(world: World, viewer: Session, owner: Session) -> list[str]:
    r = world.client(viewer).get(f"/v1/users/{owner.user_id}/connections?limit=500")
    assert r.status == 200, r
    return [p["userId"] for p in r.json()["connections"]]


def settings_of(world: World, who: Session) -> dict:
    r = world.client(who).get("/v1/me/suggestion-settings?locale=en")
    assert r.status == 200, r
    return r.json()


def put_settings(world: World, who: Session, body: dict):
    return world.client(who).request("PUT", "/v1/me/suggestion-settings", body)


def consent_switch_body(world: World, who: Session, key: str) -> dict:
    control = settings_of(world, who)[key]
    return {key: True, "noticeVersion": control["noticeVersion"], "locale": "en", "textSHA256": control["textSHA256"],
            "initialState": "unchecked", "channel": "api"}


def set_personalised(world: World, who: Session, on: bool) -> None:
    if settings_of(world, who)["personalised"]["on"] is on:
        return
    r = put_settings(world, who, consent_switch_body(world, who, "personalised") if on else {"personalised": False})
    assert r.status == 200 and r.json()["personalised"]["on"] is on, r


def suggestions_of(world: World, who: Session):
    r = world.client(who).get("/v1/me/suggestions?locale=en&limit=50")
    assert r.status == 200, r
    return r


def suggested(r) -> dict[str, list[str]]:
    """userId -> reason codes."""
    return {s["person"]["userId"]: [reason["code"] for reason in s["reasons"]] for s in r.json()["suggestions"]}


def endorse(world: World, endorser: Session, endorsed: Session, body: dict):
    return world.client(endorser).post(f"/v1/users/{endorsed.user_id}/endorsements", body)


def endorsements_on(world: World, who: Session) -> dict[str, dict]:
    return {e["endorsementId"]: e for e in own_profile(world, who).get("endorsements", [])}


def hide_endorsement(world: World, who: Session, endorsement_id: str, hidden: bool, **extra):
    return world.client(who).request("PATCH", f"/v1/me/endorsements/{endorsement_id}", {"hidden": hidden, **extra})


def delete_endorsement(world: World, who: Session, endorsement_id: str):
    return world.client(who).delete(f"/v1/me/endorsements/{endorsement_id}")


def reset_a_and_b(world: World) -> None:
    """A and B as every network case expects them: strangers to each other, nothing pending, no block."""
    a, b = world.a, world.b
    unblock(world, a, b)
    unblock(world, b, a)
    disconnect(world, a, b)
    for x, y in ((a, b), (b, a)):
        for pending in requests_of(world, x)["outgoing"]:
            if pending["to"] == y.user_id:
                ok(respond(world, x, pending["requestId"], "withdraw"), 200, what="withdraw")


# ---- profiles

def case_get_profile(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    hidden = a_hidden_profile(world)
    # A stranger sees what A shows everyone, and nothing meant for the owner.
    r = profile(world, b, a.user_id)
    assert r.status == 200, r
    seen = r.json()
    assert seen["relationship"] == "other", f"B is not connected to A but is told {seen['relationship']!r}"
    assert seen["fields"] == {"displayName": "Ann"}, f"B (a stranger) sees A's fields {sorted(seen['fields'])}"
    for key in ("visibility", "hidesConnections", "endorsements"):
        assert key not in seen, f"B sees A's owner-only `{key}`"
    no_hidden_values(r.body, hidden.values(), "A's profile as B (a stranger) sees it")
    no_secrets_of(r.body, a)
    connect(world, a, b)
    try:
        r = profile(world, b, a.user_id)
        assert r.status == 200, r
        seen = r.json()
        assert seen["relationship"] == "connection"
        assert seen["fields"] == {"displayName": "Ann", "employer": hidden["employer"]}, (
            f"B (a connection) sees A's fields {sorted(seen['fields'])}; only-me fields must stay A's"
        )
        for key in ("visibility", "hidesConnections", "endorsements"):
            assert key not in seen, f"B sees A's owner-only `{key}`"
        no_hidden_values(r.body, [hidden["city"], hidden["headline"]], "A's profile as B (a connection) sees it")
        # A block hides both from each other, and is not disclosed: the 404 is that of nobody.
        block(world, a, b)
        nobody = profile(world, b, PATH_VALUES["userId"])
        not_found(nobody, "getProfile of an unknown ID")
        for viewer, owner in ((b, a), (a, b)):
            r = profile(world, viewer, owner.user_id)
            not_found(r, "getProfile across a block")
            assert r.json()["detail"] == nobody.json()["detail"], "the 404 across a block differs from an unknown person's"
        no_hidden_values(profile(world, b, a.user_id).body, hidden.values(), "getProfile across a block")
    finally:
        reset_a_and_b(world)
    # B's own profile carries nothing of A.
    r = profile(world, b, b.user_id)
    assert r.status == 200 and r.json()["relationship"] == "self", r
    must_not_mention(r.body, a, *hidden.values())


def case_update_profile(world: World) -> None:
    a, b = world.a, world.b
    hidden = a_hidden_profile(world)
    before = own_profile(world, a)
    r = world.client(b).request("PATCH", "/v1/me/profile", {
        "displayName": "Bea", "city": "Beijing", "hideConnections": True, "visibility": {"city": "everyone"}})
    assert r.status == 200 and r.json()["userId"] == b.user_id and r.json()["relationship"] == "self", r
    must_not_mention(r.body, a, *hidden.values())
    # B names A as the subject through extra body fields (property level, API3): refused.
    for extra in ({"userId": a.user_id}, {"user": a.user_id}, {"subject": a.user_id}, {"owner": a.user_id}):
        r = world.client(b).request("PATCH", "/v1/me/profile", {"headline": "written by B", **extra})
        unknown_field(r, f"updateProfile with {list(extra)}")
    r = world.client(b).request("PATCH", "/v1/me/profile", {"fields": {"headline": "written by B"}, "userId": a.user_id})
    unknown_field(r, "updateProfile with a nested `fields` object and A's userId")
    assert own_profile(world, a) == before, "B's profile update changed A's profile"
    patch_profile(world, b, {"hideConnections": False, "city": ""})


# ---- connection requests and connections

def case_request_connection(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c = fresh(world)
    sent = request_connection(world, a, c)
    assert sent.status == 201 and sent.json()["status"] == "pending", sent
    rid = sent.json()["requestId"]
    try:
        # B cannot send a request in A's name, nor reuse A's request.
        for extra in ({"from": a.user_id}, {"fromUserId": a.user_id}, {"sender": a.user_id}, {"requestId": rid}):
            r = world.client(b).post("/v1/me/connection-requests", {"userId": c.user_id, **extra})
            unknown_field(r, f"requestConnection with {list(extra)}")
        r = request_connection(world, b, c)
        assert r.status == 201, r
        mine = r.json()
        assert (mine["from"], mine["to"], mine["status"]) == (b.user_id, c.user_id, "pending") and mine["requestId"] != rid, (
            "B's request to C is not B's own pending request"
        )
        must_not_mention(r.body, a, rid)
        # A's request is as A left it; B's is not among A's.
        a_reqs = requests_of(world, a)
        assert [x["status"] for x in a_reqs["outgoing"] if x["requestId"] == rid] == ["pending"], "A's request changed"
        assert mine["requestId"] not in {x["requestId"] for x in a_reqs["outgoing"] + a_reqs["incoming"]}, "B's request shows in A's list"
        assert {x["from"] for x in requests_of(world, c)["incoming"]} == {a.user_id, b.user_id}
        # While A blocks B, B's request to A is refused as if A did not exist, and A never sees it.
        block(world, a, b)
        nobody = world.client(b).post("/v1/me/connection-requests", {"userId": PATH_VALUES["userId"]})
        not_found(nobody, "requestConnection to an unknown person")
        r = request_connection(world, b, a)
        not_found(r, "requestConnection to a person who blocked the sender")
        assert r.json()["detail"] == nobody.json()["detail"], "the refusal discloses the block"
        assert all(x["from"] != b.user_id for x in requests_of(world, a)["incoming"]), "a blocked person's request reached A"
        ok(respond(world, b, mine["requestId"], "withdraw"), 200, what="B withdraws B's request")
    finally:
        respond(world, a, rid, "withdraw")
        reset_a_and_b(world)


def case_list_connection_requests(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c = fresh(world)
    sent = request_connection(world, a, c)
    assert sent.status == 201, sent
    rid = sent.json()["requestId"]
    incoming = request_connection(world, c, b)  # B has a list of its own
    assert incoming.status == 201, incoming
    try:
        r = world.client(b).get("/v1/me/connection-requests")
        assert r.status == 200, r
        listed = r.json()
        ids = {x["requestId"] for x in listed["incoming"] + listed["outgoing"]}
        assert rid not in ids, "B sees A's connection request"
        assert ids == {incoming.json()["requestId"]}, "B's list is not exactly B's requests"
        must_not_mention(r.body, a, rid)
        assert rid in {x["requestId"] for x in requests_of(world, c)["incoming"]}  # the request is there to be seen
    finally:
        respond(world, a, rid, "withdraw")
        respond(world, c, incoming.json()["requestId"], "withdraw")


def case_respond_to_connection(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c = fresh(world)
    sent = request_connection(world, a, c)
    assert sent.status == 201, sent
    rid = sent.json()["requestId"]
    try:
        # B is neither the recipient (accept, decline) nor the sender (withdraw) of A's request to C.
        for action in ("accept", "decline", "withdraw"):
            r = respond(world, b, rid, action)
            not_found(r, f"B's {action} of A's request")
            must_not_mention(r.body, a, rid, c.user_id)
        # Nor does a party act out of turn: C cannot withdraw it, A cannot answer it.
        not_found(respond(world, c, rid, "withdraw"), "the recipient withdrawing A's request")
        for action in ("accept", "decline"):
            not_found(respond(world, a, rid, action), f"the sender {action}ing its own request")
        # B cannot name the actor in the body.
        for extra in ({"userId": c.user_id}, {"as": c.user_id}, {"actor": c.user_id}, {"from": a.user_id}):
            unknown_field(respond(world, b, rid, "accept", **extra), f"respondToConnection with {list(extra)}")
        pending = [x for x in requests_of(world, a)["outgoing"] if x["requestId"] == rid]
        assert [x["status"] for x in pending] == ["pending"], "A's request changed state by another's answer"
        assert c.user_id not in connection_ids(world, a, a), "A and C were connected by B"
        # B's own request to A: A may not withdraw it, B may not accept it; B withdraws it.
        mine = request_connection(world, b, a)
        assert mine.status == 201, mine
        mid = mine.json()["requestId"]
        not_found(respond(world, a, mid, "withdraw"), "A withdrawing B's request")
        not_found(respond(world, b, mid, "accept"), "B accepting B's own request")
        r = respond(world, b, mid, "withdraw")
        assert r.status == 200 and r.json()["status"] == "withdrawn", r
        assert b.user_id not in connection_ids(world, a, a)
        # The recipient answers A's request; a second answer is a conflict, not a change.
        r = respond(world, c, rid, "decline")
        assert r.status == 200 and r.json()["status"] == "declined", r
        assert respond(world, c, rid, "accept").status in (404, 409)
    finally:
        respond(world, a, rid, "withdraw")
        reset_a_and_b(world)


def case_remove_connection(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c = fresh(world)
    connect(world, a, c)
    try:
        # B removes A's connection to C, and B's (non-existent) connection to A: nothing to remove.
        for target in (c, a):
            r = world.client(b).delete(f"/v1/me/connections/{target.user_id}")
            not_found(r, "B removing a connection B does not have")
            must_not_mention(r.body, a, c.user_id)
        assert c.user_id in connection_ids(world, a, a) and a.user_id in connection_ids(world, c, c), "B ended A's connection to C"
        # Connected to A, B ends B's connection only.
        connect(world, a, b)
        assert world.client(b).delete(f"/v1/me/connections/{a.user_id}").status == 204
        ids = connection_ids(world, a, a)
        assert c.user_id in ids and b.user_id not in ids, "B's removal touched A's other connections"
    finally:
        disconnect(world, a, c)
        reset_a_and_b(world)


def case_list_connections(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c = fresh(world)
    connect(world, a, c)
    try:
        # Not connected: B sees neither A's list nor C's (403), and the refusal names nobody.
        for owner in (a, c):
            for query in ("", "?limit=500", f"?after={PATH_VALUES['userId']}"):
                r = world.client(b).get(f"/v1/users/{owner.user_id}/connections{query}")
                assert r.status == 403 and r.problem_code() == "forbidden", f"listConnections of a stranger answered {r!r}"
                must_not_mention(r.body, a, c.user_id)
        # Connected: B sees A's list…
        connect(world, a, b)
        assert {b.user_id, c.user_id} <= set(connection_ids(world, b, a))
        # …until A hides it; then 403 again, while A still sees its own.
        patch_profile(world, a, {"hideConnections": True})
        r = world.client(b).get(f"/v1/users/{a.user_id}/connections")
        assert r.status == 403 and r.problem_code() == "forbidden", f"A's hidden list answered {r!r}"
        must_not_mention(r.body, a, c.user_id)
        assert c.user_id in connection_ids(world, a, a)
        # B's own list is B's.
        assert c.user_id not in connection_ids(world, b, b)
    finally:
        patch_profile(world, a, {"hideConnections": False})
        disconnect(world, a, c)
        reset_a_and_b(world)


# ---- blocks

def case_block_user(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c = fresh(world)
    connect(world, a, c)
    try:
        for extra in ({"blocker": a.user_id}, {"from": a.user_id}, {"by": a.user_id}, {"user": a.user_id}):
            r = world.client(b).post("/v1/me/blocks", {"userId": c.user_id, **extra})
            unknown_field(r, f"blockUser with {list(extra)}")
        # B blocks C: A's connection to C and A's and C's views of each other are untouched.
        assert world.client(b).post("/v1/me/blocks", {"userId": c.user_id}).status == 204
        assert c.user_id in connection_ids(world, a, a), "B's block ended A's connection"
        assert profile(world, a, c.user_id).status == 200 and profile(world, c, a.user_id).status == 200, "B's block hid A and C"
        # B blocks A: they are hidden from each other, and nothing else of A changes.
        assert world.client(b).post("/v1/me/blocks", {"userId": a.user_id}).status == 204
        not_found(profile(world, b, a.user_id), "getProfile of A after B blocked A")
        not_found(profile(world, a, b.user_id), "getProfile of B after B blocked A")
        assert c.user_id in connection_ids(world, a, a) and profile(world, a, c.user_id).status == 200
    finally:
        unblock(world, b, c)
        disconnect(world, a, c)
        reset_a_and_b(world)


def case_unblock_user(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c = fresh(world)
    block(world, a, c)
    try:
        # A's block of C is A's to lift: B's unblock of C (or of A) finds no block of B's.
        for target in (c, a):
            r = world.client(b).delete(f"/v1/me/blocks/{target.user_id}")
            not_found(r, "B lifting a block B did not make")
            must_not_mention(r.body, a, c.user_id)
        not_found(profile(world, c, a.user_id), "A's block of C after B's unblock")
        # A blocks B: B cannot lift it.
        block(world, a, b)
        not_found(world.client(b).delete(f"/v1/me/blocks/{a.user_id}"), "B lifting A's block of B")
        not_found(profile(world, b, a.user_id), "getProfile of A by B, blocked by A")
    finally:
        unblock(world, a, c)
        reset_a_and_b(world)
    assert profile(world, c, a.user_id).status == 200


# ---- second degree

def case_list_second_degree(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c, d = fresh(world, secret("Cy")), fresh(world, secret("Di"))
    connect(world, a, c)
    connect(world, c, d)
    try:
        r = world.client(a).get("/v1/me/network/second-degree")
        assert r.status == 200 and d.user_id in {p["person"]["userId"] for p in r.json()["people"]}, "A's second degree lacks D"
        # B, connected to none of them, sees none of A's network.
        r = world.client(b).get("/v1/me/network/second-degree")
        assert r.status == 200, r
        must_not_mention(r.body, a, c.user_id, d.user_id)
        # B connected to A, A's list hidden: C (reachable only through A's hidden list) is not shown.
        connect(world, a, b)
        patch_profile(world, a, {"hideConnections": True})
        r = world.client(b).get("/v1/me/network/second-degree?limit=200")
        assert r.status == 200, r
        text = r.body.decode("utf-8", "replace")
        assert c.user_id not in text and d.user_id not in text, "B's second degree reveals A's hidden connection list"
        # A shows the list: now C is there, through A (the check above was not vacuous).
        patch_profile(world, a, {"hideConnections": False})
        r = world.client(b).get("/v1/me/network/second-degree?limit=200")
        people = {p["person"]["userId"]: p for p in r.json()["people"]}
        assert c.user_id in people and a.user_id in {m["userId"] for m in people[c.user_id]["mutuals"]}, r.json()
    finally:
        patch_profile(world, a, {"hideConnections": False})
        disconnect(world, c, d)
        disconnect(world, a, c)
        reset_a_and_b(world)


# ---- endorsements

def case_endorse(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    before = endorsements_on(world, a)
    # Not connected: 403, and A's profile gets nothing.
    r = endorse(world, b, a, {"preset": "reliable"})
    assert r.status == 403 and r.problem_code() == "forbidden", f"B endorsed A, a stranger: {r!r}"
    assert endorsements_on(world, a) == before
    connect(world, a, b)
    created = None
    try:
        # B cannot endorse in another's name, nor set the flags A owns.
        for extra in ({"endorser": a.user_id}, {"from": a.user_id}, {"userId": a.user_id}, {"hidden": True}):
            unknown_field(endorse(world, b, a, {"preset": "mentor", **extra}), f"endorse with {list(extra)}")
        tag = secret("tag")
        r = endorse(world, b, a, {"text": tag})
        assert r.status == 201, r
        created = r.json()["endorsementId"]
        mine = endorsements_on(world, a)[created]
        assert mine["endorser"]["userId"] == b.user_id and mine["hidden"] is False
        # C is not B's connection: 403, and C's profile gets nothing.
        c = fresh(world)
        assert endorse(world, b, c, {"preset": "mentor"}).status == 403
        assert endorsements_on(world, c) == {}
        # The endorsement is on A's profile, not B's, and only A may hide or delete it.
        assert created not in endorsements_on(world, b)
        not_found(hide_endorsement(world, b, created, True), "the endorser hiding an endorsement on A's profile")
        not_found(delete_endorsement(world, b, created), "the endorser deleting an endorsement on A's profile")
        assert created in endorsements_on(world, a) and endorsements_on(world, a)[created]["hidden"] is False
    finally:
        if created:
            delete_endorsement(world, a, created)
        reset_a_and_b(world)


def case_hide_endorsement(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c = fresh(world)
    connect(world, a, c)
    tag = secret("tag")
    r = endorse(world, c, a, {"text": tag})
    assert r.status == 201, r
    eid = r.json()["endorsementId"]
    try:
        # Shown: B (a stranger) sees it counted on A's profile, without the endorser or the ID.
        r = profile(world, b, a.user_id)
        assert tag in r.body.decode(), "the endorsement is not counted on A's profile (the check below would be vacuous)"
        assert "endorsements" not in r.json() and eid not in r.body.decode() and c.user_id not in r.body.decode(), (
            "B sees who endorsed A"
        )
        # Neither B nor the endorser C may hide it; B cannot name A in the body.
        for who in (b, c):
            for hidden in (True, False):
                r = hide_endorsement(world, who, eid, hidden)
                not_found(r, "hiding an endorsement on A's profile")
                must_not_mention(r.body, a, eid, tag)
        for extra in ({"userId": a.user_id}, {"owner": a.user_id}, {"endorsementId": eid}):
            unknown_field(hide_endorsement(world, b, eid, True, **extra), f"hideEndorsement with {list(extra)}")
        assert endorsements_on(world, a)[eid]["hidden"] is False, "B hid A's endorsement"
        # A hides it: gone from what B sees, and B cannot show it again.
        assert hide_endorsement(world, a, eid, True).status == 204
        no_hidden_values(profile(world, b, a.user_id).body, [tag, eid], "A's profile with the endorsement hidden")
        not_found(hide_endorsement(world, b, eid, False), "B showing A's hidden endorsement")
        assert endorsements_on(world, a)[eid]["hidden"] is True
        no_hidden_values(profile(world, b, a.user_id).body, [tag, eid], "A's profile with the endorsement hidden")
    finally:
        delete_endorsement(world, a, eid)
        disconnect(world, a, c)


def case_delete_endorsement(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c = fresh(world)
    connect(world, a, c)
    r = endorse(world, c, a, {"preset": "expert"})
    assert r.status == 201, r
    eid = r.json()["endorsementId"]
    try:
        for who in (b, c):
            r = delete_endorsement(world, who, eid)
            not_found(r, "deleting an endorsement on A's profile")
            must_not_mention(r.body, a, eid)
        assert eid in endorsements_on(world, a), "B or the endorser deleted A's endorsement"
        assert delete_endorsement(world, a, eid).status == 204
        not_found(delete_endorsement(world, a, eid), "a second delete")
    finally:
        delete_endorsement(world, a, eid)
        disconnect(world, a, c)


# ---- suggestions

def a_network(world: World):
    """A — C — D, A personalised: D is suggested to A for the mutual connection C."""
    a = world.a
    c, d = fresh(world, secret("Cy")), fresh(world, secret("Di"))
    connect(world, a, c)
    connect(world, c, d)
    set_personalised(world, a, True)
    codes = suggested(suggestions_of(world, a))
    assert "mutual-connections" in codes.get(d.user_id, []), "A's own suggestions lack D (the case would be vacuous)"
    return c, d


def undo_network(world: World, c: Session, d: Session) -> None:
    disconnect(world, c, d)
    disconnect(world, world.a, c)
    set_personalised(world, world.a, False)
    set_personalised(world, world.b, False)


def case_list_suggestions(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    hidden = a_hidden_profile(world)
    set_personalised(world, b, False)
    c, d = a_network(world)
    c_name = own_profile(world, c)["fields"]["displayName"]
    same = fresh(world)
    try:
        # B has not consented: a plain, labelled list, whatever A consented to.
        r = suggestions_of(world, b)
        plain = r.json()
        assert plain["personalised"] is False and plain["label"], "B's list is personalised without B's consent"
        assert all(codes == ["non-personalised"] for codes in suggested(r).values()), suggested(r)
        no_secrets_of(r.body, a, *hidden.values())
        # B consents: B's own list, built from what B may see. B shares A's (connections-only)
        # employer publicly: A must not be suggested for it; someone who shows it is (control).
        patch_profile(world, b, {"employer": hidden["employer"], "visibility": {"employer": "everyone"}})
        patch_profile(world, same, {"employer": hidden["employer"], "visibility": {"employer": "everyone"}})
        set_personalised(world, b, True)
        r = suggestions_of(world, b)
        assert r.json()["personalised"] is True
        codes = suggested(r)
        assert "same-employer" in codes.get(same.user_id, []), f"control: the colleague is not suggested ({codes})"
        assert "same-employer" not in codes.get(a.user_id, []), "B is told A's employer, which A shows only to connections"
        no_secrets_of(r.body, a, hidden["city"], hidden["headline"])
        if not connection_ids(world, b, b):
            assert all("mutual-connections" not in c_ for c_ in codes.values()), "B (no connections) got mutual connections"
        assert c_name not in r.body.decode("utf-8", "replace"), "B's suggestions name A's connection C"
        # A blocks B: A is in neither of B's lists.
        block(world, a, b)
        assert a.user_id not in suggested(suggestions_of(world, b))
        set_personalised(world, b, False)
        assert a.user_id not in suggested(suggestions_of(world, b))
    finally:
        patch_profile(world, b, {"employer": ""})
        undo_network(world, c, d)
        reset_a_and_b(world)


def case_dismiss_suggestion(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    c, d = a_network(world)
    try:
        for target in (d, a, c):
            r = world.client(b).post(f"/v1/me/suggestions/{target.user_id}/dismissal")
            assert r.status == 204, r
        # A's suggestions are A's: D is still suggested to A, with its reason.
        codes = suggested(suggestions_of(world, a))
        assert "mutual-connections" in codes.get(d.user_id, []), "B's dismissal removed D from A's suggestions"
        r = world.client(a).get(f"/v1/me/suggestions/{d.user_id}/explanation?locale=en")
        assert r.status == 200, f"B's dismissal changed A's explanation: {r!r}"
        # A dismissal takes no subject in a body.
        r = world.client(b).post(f"/v1/me/suggestions/{d.user_id}/dismissal", {"userId": a.user_id})
        assert r.status in (204, 400, 422), r
        if r.status != 204:
            assert r.problem_code() == "unknown-field", r
        assert "mutual-connections" in suggested(suggestions_of(world, a)).get(d.user_id, [])
    finally:
        undo_network(world, c, d)


def case_explain_suggestion(world: World) -> None:
    a, b = world.a, world.b
    reset_a_and_b(world)
    hidden = a_hidden_profile(world)
    c, d = a_network(world)
    c_name = own_profile(world, c)["fields"]["displayName"]
    try:
        r = world.client(a).get(f"/v1/me/suggestions/{d.user_id}/explanation?locale=en")
        assert r.status == 200 and c_name in r.body.decode(), "control: A's explanation names the mutual connection"
        for personalised in (False, True):
            set_personalised(world, b, personalised)
            for target in (d, a):
                r = world.client(b).get(f"/v1/me/suggestions/{target.user_id}/explanation?locale=en")
                assert r.status in (200, 404), r
                no_secrets_of(r.body, a, c_name, *hidden.values())
                if r.status == 200:
                    codes = [x["code"] for x in r.json()["reasons"]]
                    assert "mutual-connections" not in codes, f"B is given A's mutual connections as a reason: {codes}"
                    if not personalised:
                        assert codes == ["non-personalised"], f"B's explanation is personalised without consent: {codes}"
                elif personalised and target is d:
                    not_found(r, "explainSuggestion")
    finally:
        undo_network(world, c, d)


def case_get_suggestion_settings(world: World) -> None:
    a, b = world.a, world.b
    set_personalised(world, a, True)
    set_personalised(world, b, False)
    r = put_settings(world, a, {"suggestMeToOthers": False})
    assert r.status == 200, r
    try:
        r = world.client(b).get("/v1/me/suggestion-settings?locale=en")
        assert r.status == 200, r
        mine = r.json()
        assert mine["personalised"]["on"] is False, "B reads A's personalisation switch"
        assert mine["suggestMeToOthers"] is True, "B reads A's suggestMeToOthers"
        must_not_mention(r.body, a)
    finally:
        put_settings(world, a, {"suggestMeToOthers": True})
        set_personalised(world, a, False)


def case_update_suggestion_settings(world: World) -> None:
    a, b = world.a, world.b
    set_personalised(world, a, False)
    before = settings_of(world, a)
    a_consents = consents_of(world, a)
    try:
        for extra in ({"userId": a.user_id}, {"user": a.user_id}, {"subject": a.user_id}):
            unknown_field(put_settings(world, b, {"suggestMeToOthers": False, **extra}), f"updateSuggestionSettings with {list(extra)}")
            unknown_field(put_settings(world, b, {**consent_switch_body(world, b, "personalised"), **extra}),
                          f"updateSuggestionSettings (consent) with {list(extra)}")
        r = put_settings(world, b, {"suggestMeToOthers": False})
        assert r.status == 200 and r.json()["suggestMeToOthers"] is False, r
        must_not_mention(r.body, a)
        set_personalised(world, b, True)
        # A's switches, A's consents and A's list are as they were.
        assert settings_of(world, a) == before, "B's settings changed A's"
        assert consents_of(world, a) == a_consents, "B's consent changed A's consent ledger"
        assert suggestions_of(world, a).json()["personalised"] is False, "B's consent personalised A's list"
        assert status_of(consents_of(world, b), "personalised-suggestions")["granted"]
    finally:
        put_settings(world, b, {"suggestMeToOthers": True})
        set_personalised(world, b, False)


def display_name(world: World, who: Session, name: str) -> None:
    patch_profile(world, who, {"displayName": name})


def case_preview_invitation(world: World) -> None:
    # B cannot learn through a preview that A's number has an account: the one refusal of any number that
    # cannot be invited, and nothing of A in it.
    display_name(world, world.b, "Bea")
    r = world.client(world.b).post("/v1/me/invitations/previews", {"phone": world.a.phone})
    assert r.status == 409 and r.problem_code() == "not-invitable", r
    must_not_mention(r.body, world.a)
    stranger = kithgates.new_phone()
    r = world.client(world.b).post("/v1/me/invitations/previews", {"phone": stranger})
    assert r.status == 200 and "Bea" in r.json()["text"], r
    assert stranger not in r.body.decode() and kithgates.national_form(stranger) not in r.body.decode()
    must_not_mention(r.body, world.a)


def case_send_invitation(world: World) -> None:
    # A's preview token is A's: B sending it sends nothing, in B's name or A's.
    display_name(world, world.a, "Ann")
    stranger = kithgates.new_phone()
    preview = world.client(world.a).post("/v1/me/invitations/previews", {"phone": stranger})
    assert preview.status == 200, preview
    token = preview.json()["previewToken"]
    before = world.client(world.a).get("/v1/me/invitations").json()["invitations"]
    r = world.client(world.b).post("/v1/me/invitations", {"previewToken": token})
    assert r.status == 422 and r.problem_code() == "invalid-field", r
    unknown_field(world.client(world.b).post("/v1/me/invitations", {"previewToken": token, "userId": world.a.user_id}),
                  "sendInvitation with userId")
    assert world.client(world.a).get("/v1/me/invitations").json()["invitations"] == before
    # A can still send it: B's attempt used nothing up.
    sent = world.client(world.a).post("/v1/me/invitations", {"previewToken": token})
    assert sent.status == 201, sent


def case_list_my_invitations(world: World) -> None:
    display_name(world, world.a, "Ann")
    sent = world.client(world.a).post(
        "/v1/me/invitations/previews", {"phone": kithgates.new_phone()})
    assert sent.status == 200, sent
    mine = world.client(world.a).post("/v1/me/invitations", {"previewToken": sent.json()["previewToken"]})
    assert mine.status == 201, mine
    r = world.client(world.b).get("/v1/me/invitations")
    assert r.status == 200, r
    must_not_mention(r.body, world.a, mine.json()["invitation"]["invitationId"], mine.json()["invitation"]["link"])


def case_unsubscribe_marketing(world: World) -> None:
    # B's unsubscription is B's: A's marketing consent stays.
    grant(world, world.a, "marketing")
    grant(world, world.b, "marketing")
    r = world.client(world.b).post("/v1/me/marketing/unsubscription")
    assert r.status == 204, r
    assert status_of(consents_of(world, world.a), "marketing")["granted"], "B's unsubscription withdrew A's consent"
    assert not status_of(consents_of(world, world.b), "marketing")["granted"]
    r = world.client(world.a).post("/v1/me/marketing/unsubscription")
    assert r.status == 204, r


CASES: dict[str, Callable[[World], None]] = {
    "getMe": case_get_me,
    "listMyConsents": case_list_my_consents,
    "grantConsent": case_grant_consent,
    "withdrawConsent": case_withdraw_consent,
    "signOut": case_sign_out,
    "startPhoneNumberChange": case_start_phone_number_change,
    "changePhoneNumber": case_change_phone_number,
    "setRegistrationLock": case_set_registration_lock,
    "removeRegistrationLock": case_remove_registration_lock,
    "exportMyData": case_export_my_data,
    "submitDataRequest": case_submit_data_request,
    "startAccountDeletion": case_start_account_deletion,
    "deleteMyAccount": case_delete_my_account,
    "uploadContacts": case_upload_contacts,
    "deleteMyContacts": case_delete_my_contacts,
    "getDiscoverability": case_get_discoverability,
    "setDiscoverability": case_set_discoverability,
    # the network (issue 4)
    "getProfile": case_get_profile,
    "updateProfile": case_update_profile,
    "requestConnection": case_request_connection,
    "listConnectionRequests": case_list_connection_requests,
    "respondToConnection": case_respond_to_connection,
    "removeConnection": case_remove_connection,
    "listConnections": case_list_connections,
    "blockUser": case_block_user,
    "unblockUser": case_unblock_user,
    "listSecondDegree": case_list_second_degree,
    "endorse": case_endorse,
    "hideEndorsement": case_hide_endorsement,
    "deleteEndorsement": case_delete_endorsement,
    "listSuggestions": case_list_suggestions,
    "dismissSuggestion": case_dismiss_suggestion,
    "explainSuggestion": case_explain_suggestion,
    "getSuggestionSettings": case_get_suggestion_settings,
    "updateSuggestionSettings": case_update_suggestion_settings,
    # invitations (issue 13)
    "previewInvitation": case_preview_invitation,
    "sendInvitation": case_send_invitation,
    "listMyInvitations": case_list_my_invitations,
    "unsubscribeMarketing": case_unsubscribe_marketing,
}


# --------------------------------------------------------------------------------------------------
# Tests

def test_every_operation_has_a_case(world):
    ops = kithgates.operations(world.document)
    missing = [str(op) for op in ops if op.operation_id not in PUBLIC | set(CASES) | OPERATOR_ONLY | PROVIDER_SIGNED | PARTNER_ONLY]
    assert not missing, "operations without a cross-user case (add one to CASES, or to PUBLIC/OPERATOR_ONLY): " + ", ".join(missing)
    # The document and the tables agree on who needs a session.
    wrong_public = [str(op) for op in ops if op.operation_id in PUBLIC and op.secured]
    wrong_secured = [str(op) for op in ops
                     if op.operation_id in set(CASES) | OPERATOR_ONLY | PROVIDER_SIGNED | PARTNER_ONLY and not op.secured]
    assert not wrong_public, f"listed as public but the document requires a session: {wrong_public}"
    assert not wrong_secured, f"has a cross-user case but the document marks it public: {wrong_secured}"
    stale = sorted((PUBLIC | set(CASES) | OPERATOR_ONLY | PROVIDER_SIGNED | PARTNER_ONLY) - {op.operation_id for op in ops})
    if stale:  # an older binary, or a removed operation: harmless, but say so
        print(f"note: table entries for operations this document does not have: {stale}")
    covered = [op for op in ops if op.operation_id in CASES or op.operation_id in OPERATOR_ONLY]
    summary = f"cross-user: {len(covered)} operations with a case, {len([o for o in ops if o.operation_id in PUBLIC])} public, {len(ops)} in the document"
    print(summary)
    (kithgates.workdir() / "cross-user-summary.txt").write_text(summary + "\n")


@pytest.mark.parametrize("operation_id", sorted(CASES))
def test_b_cannot_reach_a(world, operation_id):
    ids = {op.operation_id for op in kithgates.operations(world.document)}
    if operation_id not in ids:
        pytest.skip(f"{operation_id} is not in this binary's document")
    CASES[operation_id](world)
    # Whatever the case did, A's session still works and is still A.
    me = world.client(world.a).get("/v1/me")
    assert me.status == 200 and me.json()["userId"] == world.a.user_id


def test_ordinary_person_cannot_call_operator_or_partner_operations(world):
    ops = [op for op in kithgates.operations(world.document) if op.operation_id in OPERATOR_ONLY | PARTNER_ONLY]
    if not ops:
        pytest.skip("the document has no operator operations yet")
    failures = []
    for op in ops:
        method, path, body = sample_request(world, op)
        r = world.client(world.a).request(method, path, body)
        if r.status != 403 or r.problem_code() != "forbidden":
            failures.append(f"{op}: {r!r}")
    assert not failures, "operator operations open to an ordinary person:\n" + "\n".join(failures)


def test_provider_webhook_refuses_unsigned_calls(world):
    """The SMS provider's webhook takes no session: a call without the body's signature, with a wrong one, or
    with a person's token instead, is refused 401 and changes nothing (MSG-05)."""
    ops = [op for op in kithgates.operations(world.document) if op.operation_id in PROVIDER_SIGNED]
    if not ops:
        pytest.skip("the document has no provider webhook yet")
    display_name(world, world.a, "Ann")
    stranger = kithgates.new_phone()
    body = {"from": stranger, "text": "STOP"}
    for headers, token in [({}, None), ({"Kith-Signature": "sha256=" + "0" * 64}, None), ({}, world.a.token)]:
        r = world.server.client().request("POST", "/v1/inbound-messages", body, token=token, headers=headers)
        assert r.status == 401 and r.problem_code() == "unauthenticated", r
    r = world.client(world.a).post("/v1/me/invitations/previews", {"phone": stranger})
    assert r.status == 200, f"an unsigned STOP suppressed the number: {r!r}"


def test_secured_operations_reject_missing_bad_and_revoked_tokens(world):
    revoked = world.server.sign_up(world.a.phone)
    assert world.server.client(token=revoked.token).delete("/v1/auth/sessions/current").status == 204
    credentials = {
        "no token": None,
        "malformed token": "not-a-token",
        "unknown token": "A" * 43,
        "signed-out token": revoked.token,
    }
    failures = []
    checked = 0
    for op in kithgates.operations(world.document):
        if not op.secured:
            continue
        method, path, body = sample_request(world, op)
        for label, token in credentials.items():
            r = world.server.client().request(method, path, body, token=token)
            checked += 1
            problem = r.json() if r.content_type.startswith("application/problem+json") else None
            if r.status != 401 or not problem or problem.get("code") != "unauthenticated" or problem.get("status") != 401:
                failures.append(f"{op} with {label}: {r!r}")
    assert checked, "no secured operation in the document"
    assert not failures, "secured operations not answering 401 problem+json:\n" + "\n".join(failures)
    secured = len([op for op in kithgates.operations(world.document) if op.secured])
    with open(kithgates.workdir() / "cross-user-summary.txt", "a") as f:
        f.write(f"cross-user: {checked} unauthenticated probes (4 credentials × {secured} secured operations), all 401 problem+json\n")


def test_public_operations_answer_documented_statuses_with_a_stale_token(world):
    """A client that still sends a signed-out token to a public operation gets a documented answer.

    (Either the server ignores the credential on public operations, or the document lists 401 there.)
    """
    stale = world.server.sign_up(world.b.phone)
    assert world.server.client(token=stale.token).delete("/v1/auth/sessions/current").status == 204
    failures = []
    for op in kithgates.operations(world.document):
        if op.secured or op.operation_id in ("startPhoneVerification", "verifyPhone", "startNumberOptOut", "confirmNumberOptOut"):
            # start/verify would spend codes and guesses; they are exercised by the fuzzing gate.
            continue
        method, path, body = sample_request(world, op)
        r = world.server.client().request(method, path, body, token=stale.token)
        if str(r.status) not in op.responses and f"{str(r.status)[0]}XX" not in op.responses:
            failures.append(f"{op} with a signed-out token: {r.status} {r.problem_code()} (documented: {', '.join(op.responses)})")
    assert not failures, "undocumented statuses on public operations:\n" + "\n".join(failures)


# --------------------------------------------------------------------------------------------------
# Generic requests built from the document

def sample_request(world: World, op: kithgates.Operation) -> tuple[str, str, object]:
    path = op.path
    item = world.document["paths"][op.path][op.method]
    for parameter in item.get("parameters", []):
        if parameter.get("in") == "path":
            name = parameter["name"]
            assert name in PATH_VALUES, f"{op}: add a sample value for path parameter {name!r} to PATH_VALUES"
            path = path.replace("{" + name + "}", PATH_VALUES[name])
    body = None
    if op.operation_id == "grantConsent":
        body = kithgates.grant_body(world.notice, kithgates.consent_purposes(world.notice)[0]["id"])
    elif "requestBody" in item:
        schema = item["requestBody"]["content"].get("application/json", {}).get("schema", {})
        body = example_from_schema(schema, world.document)
    return op.method.upper(), path, body


def resolve(schema: dict, document: dict) -> dict:
    while "$ref" in schema:
        node = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def example_from_schema(schema: dict, document: dict):
    schema = resolve(schema, document)
    if "examples" in schema and schema["examples"]:
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        return {name: example_from_schema(props[name], document) for name in schema.get("required", []) if name in props}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    if kind == "string":
        pattern = schema.get("pattern", "")
        return "000000" if "[0-9]" in pattern else "x"
    return json.loads("null")
