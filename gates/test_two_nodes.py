"""Gate 5 — two nodes, one PostgreSQL (issue 5). Two `kith serve` processes on different ports share
one database URL and one key file:

  * a session made on node A works on node B (and a sign-out on B ends it on A);
  * rate-limit buckets are shared: codes for one number requested alternately from A and B are
    refused with 429 after the burst of 3 (not 6); the per-address burst of 10 holds across nodes too;
  * a withdrawal on A is honoured by B on the very next request;
  * concurrent writes on both nodes leave one intact processing log (`kith ledger verify`);
  * a connection made on A appears in suggestions on B within 2 s — skipped until the document has
    the suggestions operation.
"""

from __future__ import annotations

import threading

import pytest

import kithgates
from conftest import require_postgres
from kithgates import KithServer, SourceAddresses


@pytest.fixture(scope="module")
def nodes():
    require_postgres()
    url = kithgates.new_postgres_database("kith_gates_nodes")
    shared_dir = kithgates.workdir() / "two-nodes"
    shared_dir.mkdir(exist_ok=True)
    key_file = shared_dir / "kith.keys"
    # One allocator of client addresses for both nodes: the buckets they key live in the shared store.
    addresses = SourceAddresses(per_address=8, block=40)
    a = KithServer("node-a", database_url=url, key_file=key_file, addresses=addresses).start()
    b = KithServer("node-b", database_url=url, key_file=key_file, addresses=addresses)
    try:
        b.start()
        yield a, b
    finally:
        b.stop()
        a.stop()


def test_session_from_a_works_on_b(nodes):
    a, b = nodes
    session = a.sign_up()
    r = b.client(token=session.token).get("/v1/me")
    assert r.status == 200, f"node B refused node A's session: {r!r}"
    assert r.json()["userId"] == session.user_id and r.json()["phone"] == session.phone
    # And the other way round: a sign-out on B ends the session on A.
    assert b.client(token=session.token).delete("/v1/auth/sessions/current").status == 204
    r = a.client(token=session.token).get("/v1/me")
    assert r.status == 401, f"node A still honours a session signed out on node B: {r!r}"


def test_rate_limit_per_number_is_shared(nodes):
    a, b = nodes
    phone = kithgates.new_phone()
    source = "127.0.60.1"  # one client address, used for nothing else: its own burst (10) is not reached
    statuses = []
    for i in range(6):
        node = (a, b)[i % 2]
        r = node.start_verification(phone, source_ip=source)
        statuses.append(r.status)
        if r.status == 429:
            assert r.problem_code() == "rate-limited" and r.headers.get("retry-after"), r
    assert statuses == [202, 202, 202, 429, 429, 429], (
        f"codes for one number alternating between nodes answered {statuses}; the burst is 3 across all nodes"
    )


def test_rate_limit_per_address_is_shared(nodes):
    a, b = nodes
    source = "127.0.60.2"
    statuses = []
    for i in range(12):
        node = (a, b)[i % 2]
        statuses.append(node.start_verification(kithgates.new_phone(), source_ip=source).status)
    assert statuses == [202] * 10 + [429, 429], (
        f"codes from one address alternating between nodes answered {statuses}; the burst is 10 across all nodes"
    )


def test_withdrawal_on_a_is_honoured_by_b_on_the_next_request(nodes):
    a, b = nodes
    session = a.sign_up()
    notice = a.client().get("/v1/privacy/notice?locale=en", token=None).json()
    purpose = kithgates.consent_purposes(notice)[0]["id"]
    on_a, on_b = a.client(token=session.token), b.client(token=session.token)
    for round_ in range(15):
        granted = (on_b if round_ % 2 else on_a).post("/v1/me/consents", kithgates.grant_body(notice, purpose))
        assert granted.status == 201, granted
        seen = on_b.get("/v1/me/consents").json()  # B has read the granted state (any cache is warm)
        assert next(s for s in seen["status"] if s["purpose"] == purpose)["granted"], f"round {round_}: B does not see the grant"
        withdrawn = on_a.delete(f"/v1/me/consents/{purpose}")
        assert withdrawn.status == 200 and withdrawn.json()["withdrawn"] >= 1, withdrawn
        after = on_b.get("/v1/me/consents").json()
        status = next(s for s in after["status"] if s["purpose"] == purpose)
        assert not status["granted"], f"round {round_}: node B still shows {purpose} granted after the withdrawal on node A"
        record = next(x for x in after["records"] if x["id"] == granted.json()["id"])
        assert record.get("withdrawnAt") is not None, f"round {round_}: node B shows the record not withdrawn"


def test_concurrent_writes_on_both_nodes_keep_one_intact_log(nodes):
    a, b = nodes
    notice = a.client().get("/v1/privacy/notice?locale=en", token=None).json()
    purposes = [p["id"] for p in kithgates.consent_purposes(notice)]
    people = [a.sign_up() for _ in range(4)]
    failures: list[str] = []

    def writer(node: KithServer, person, n: int) -> None:
        client = node.client(token=person.token)
        try:
            for i in range(n):
                purpose = purposes[i % len(purposes)]
                r = client.post("/v1/me/consents", kithgates.grant_body(notice, purpose)) if i % 2 == 0 else client.delete(f"/v1/me/consents/{purpose}")
                if r.status not in (200, 201):
                    failures.append(f"{node.name}: {r!r}")
        finally:
            client.close()

    threads = [threading.Thread(target=writer, args=((a, b)[i % 2], people[i], 100)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:10]
    verify = a.ledger_verify()
    assert verify.returncode == 0, f"kith ledger verify after concurrent writes on two nodes: {verify.stdout.decode()[-500:]}"


def test_account_made_on_b_is_found_by_an_upload_on_a_at_once(nodes):
    """Each node keeps its own in-memory discovery index; a new account on another node must be in it
    on the next request (the index catches up from the shared store)."""
    a, b = nodes
    import yaml

    document = yaml.safe_load(a.client().get("/openapi.yaml", token=None).body)
    if "/v1/me/contacts/matches" not in document.get("paths", {}):
        pytest.skip("uploadContacts is not in this binary's document")
    notice = a.client().get("/v1/privacy/notice?locale=en", token=None).json()
    uploader = a.sign_up()
    assert a.client(token=uploader.token).post("/v1/me/consents", kithgates.grant_body(notice, "contact-discovery")).status == 201
    # Warm node A's index first, so the new account must arrive by catching up, not by the first load.
    assert a.client(token=uploader.token).post("/v1/me/contacts/matches", {"numbers": [kithgates.new_phone()]}).status == 200
    for round_ in range(3):
        newcomer = b.sign_up()
        evidence = kithgates.grant_body(notice, "discoverable-by-phone")
        evidence.pop("purpose")
        r = b.client(token=newcomer.token).request("PUT", "/v1/me/discoverability", {"discoverable": True, **evidence})
        assert r.status == 200, r
        r = a.client(token=uploader.token).post("/v1/me/contacts/matches", {"numbers": [newcomer.phone]})
        assert r.status == 200, r
        assert [m["userId"] for m in r.json()["matches"]] == [newcomer.user_id], (
            f"round {round_}: node A's upload did not find an account made discoverable on node B a moment ago"
        )
        # Withdrawing on B hides the account from A's next upload.
        r = b.client(token=newcomer.token).request("PUT", "/v1/me/discoverability", {"discoverable": False})
        assert r.status == 200, r
        r = a.client(token=uploader.token).post("/v1/me/contacts/matches", {"numbers": [newcomer.phone]})
        assert r.status == 200 and r.json()["matches"] == [], f"round {round_}: node A still finds an account hidden on node B"


def test_connection_on_a_appears_in_suggestions_on_b_within_2s(nodes):
    a, _ = nodes
    import yaml

    document = yaml.safe_load(a.client().get("/openapi.yaml", token=None).body)
    if "get" not in (document.get("paths", {}).get("/v1/me/suggestions") or {}):
        pytest.skip("GET /v1/me/suggestions is not in /openapi.yaml yet: the 2-second suggestions check waits for it")
    pytest.fail("the suggestions operation exists now: write this case (connection on A, suggestion on B within 2 s)")
