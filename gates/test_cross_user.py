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

import json
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
}

# Operations only an operator may call (none yet; the web operator console will add them).
OPERATOR_ONLY: set[str] = set()

# Values for path parameters when an operation is called generically (unauthenticated checks).
PATH_VALUES = {"purpose": "contact-discovery"}


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


CASES: dict[str, Callable[[World], None]] = {
    "getMe": case_get_me,
    "listMyConsents": case_list_my_consents,
    "grantConsent": case_grant_consent,
    "withdrawConsent": case_withdraw_consent,
    "signOut": case_sign_out,
    "uploadContacts": case_upload_contacts,
    "deleteMyContacts": case_delete_my_contacts,
    "getDiscoverability": case_get_discoverability,
    "setDiscoverability": case_set_discoverability,
}


# --------------------------------------------------------------------------------------------------
# Tests

def test_every_operation_has_a_case(world):
    ops = kithgates.operations(world.document)
    missing = [str(op) for op in ops if op.operation_id not in PUBLIC | set(CASES) | OPERATOR_ONLY]
    assert not missing, "operations without a cross-user case (add one to CASES, or to PUBLIC/OPERATOR_ONLY): " + ", ".join(missing)
    # The document and the tables agree on who needs a session.
    wrong_public = [str(op) for op in ops if op.operation_id in PUBLIC and op.secured]
    wrong_secured = [str(op) for op in ops if op.operation_id in set(CASES) | OPERATOR_ONLY and not op.secured]
    assert not wrong_public, f"listed as public but the document requires a session: {wrong_public}"
    assert not wrong_secured, f"has a cross-user case but the document marks it public: {wrong_secured}"
    stale = sorted((PUBLIC | set(CASES) | OPERATOR_ONLY) - {op.operation_id for op in ops})
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


def test_ordinary_person_cannot_call_operator_operations(world):
    ops = [op for op in kithgates.operations(world.document) if op.operation_id in OPERATOR_ONLY]
    if not ops:
        pytest.skip("the document has no operator operations yet")
    failures = []
    for op in ops:
        method, path, body = sample_request(world, op)
        r = world.client(world.a).request(method, path, body)
        if r.status != 403 or r.problem_code() != "forbidden":
            failures.append(f"{op}: {r!r}")
    assert not failures, "operator operations open to an ordinary person:\n" + "\n".join(failures)


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
