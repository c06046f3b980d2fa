"""Gate 5 — two nodes, one PostgreSQL (issue 5). Two `kith serve` processes on different ports share
one database URL and one key file:

  * a session made on node A works on node B, and a sign-out on B ends it on A within 1 s although A's
    session cache holds it (the delay is in `<workdir>/two-nodes-summary.txt`);
  * the code limits are shared (GEN-08): one number's back-off and hourly limit, the per-address and
    per-/24 bursts, and the pumping guard count the codes asked for on either node, and a range blocked
    by one node is blocked on the other;
  * a withdrawal on A is honoured by B on the very next request;
  * concurrent writes on both nodes leave one intact processing log (`kith ledger verify`);
  * a connection made on A appears in suggestions on B within 2 s, and its removal leaves them
    within 2 s (the delays are in `<workdir>/two-nodes-summary.txt`);
  * a person erased on A is forgotten by B within 2 s — suggestions, second degree, session, profile — and
    `kith erase-verify` through pg_dump finds nothing of them (and does find a person who still exists).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time

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
    addresses = SourceAddresses(per_address=4, block=40)
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
    # And the other way round: a sign-out on B ends the session on A, whose session cache already holds
    # it (A answered for it just now), within 1 s (issue 12) — and on B at once.
    assert a.client(token=session.token).get("/v1/me").status == 200
    assert b.client(token=session.token).delete("/v1/auth/sessions/current").status == 204
    signed_out = time.monotonic()
    assert b.client(token=session.token).get("/v1/me").status == 401, "node B honours its own sign-out late"
    while True:
        r = a.client(token=session.token).get("/v1/me")
        delay = time.monotonic() - signed_out
        if r.status == 401:
            break
        assert r.status == 200, f"unexpected answer from node A: {r!r}"
        assert delay <= 1.0, f"node A still honours a session signed out on node B after {delay:.2f} s"
        time.sleep(0.02)
    summary = kithgates.workdir() / "two-nodes-summary.txt"
    with summary.open("a") as out:
        out.write(f"sign-out on B refused by A after {delay * 1000:.0f} ms\n")


def test_code_limits_per_number_are_shared(nodes):
    """GEN-08: one number's back-off and hourly limit (3) count the codes of both nodes."""
    a, b = nodes
    phone = kithgates.new_phone()
    source = "127.60.1.1"  # one client address, used for nothing else
    answers = []
    # (node, seconds to wait first): the back-off is 1 s, then 2 s, then 4 s (KITH_CODES_BACKOFF_SECONDS=1).
    for node, wait in ((a, 0), (b, 0), (b, 1.1), (a, 0), (a, 2.1), (b, 4.1)):
        time.sleep(wait)
        r = node.start_verification(phone, source_ip=source)
        answers.append(r.status)
        if r.status == 429:
            assert r.problem_code() == "rate-limited" and r.headers.get("retry-after"), r
    assert answers == [202, 429, 202, 429, 202, 429], (
        f"codes for one number alternating between nodes answered {answers}; the back-off and the hourly "
        "limit of 3 hold across all nodes"
    )


def test_code_limits_per_address_and_network_are_shared(nodes):
    """GEN-08: the per-address burst (5) and the per-/24 burst (15) count the codes of both nodes."""
    a, b = nodes
    answers = [(a, b)[i % 2].start_verification(kithgates.new_phone(), source_ip="127.61.0.1").status for i in range(7)]
    assert answers == [202] * 5 + [429] * 2, (
        f"codes from one address alternating between nodes answered {answers}; the burst is 5 across all nodes"
    )
    # Fifteen addresses of one /24, three codes each: the network's burst of 15 is shared too.
    answers = [
        (a, b)[i % 2].start_verification(kithgates.new_phone(), source_ip=f"127.62.0.{2 + i // 3}").status
        for i in range(17)
    ]
    assert answers == [202] * 15 + [429] * 2, (
        f"codes from one /24 alternating between nodes answered {answers}; the burst is 15 across all nodes"
    )


def test_pumping_guard_is_shared(nodes):
    """GEN-08: eight numbers of one range asked for from one network, alternately on both nodes, stop
    codes to the range on both; each node's metric shows the block, read from the store."""
    a, b = nodes
    # A range is a number without its last four digits: +86 147 370x xxxx.
    prefix = "+86147370" + str(kithgates._phone_rng.randrange(10))
    numbers = [f"{prefix}{n:04d}" for n in kithgates._phone_rng.sample(range(10_000), 10)]
    for number in numbers:
        kithgates.record_phone(number)
    answers = [
        (a, b)[i % 2].start_verification(number, source_ip=f"127.63.0.{1 + i}").status
        for i, number in enumerate(numbers[:9])
    ]
    assert answers == [202] * 7 + [429] * 2, f"eight numbers of one range from one /24 answered {answers}"
    assert a.start_verification(numbers[9], source_ip="127.64.0.1").status == 429, "node A sends to a blocked range"
    for node in (a, b):
        metrics = node.client().get("/metrics", token=None).body.decode()
        assert re.search(r"^kith_codes_blocked_ranges [1-9]", metrics, re.M), f"{node.name} does not report the block"


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


SUGGESTION_DEADLINE = 2.0  # seconds: a connection (or removal) on one node reaches the other's suggestions
SUGGESTION_ROUNDS = 3


def _connect(node: KithServer, x, y) -> None:
    asked = node.client(token=x.token).post("/v1/me/connection-requests", {"userId": y.user_id})
    assert asked.status == 201, asked
    r = node.client(token=y.token).post(f"/v1/me/connection-requests/{asked.json()['requestId']}", {"action": "accept"})
    assert r.status == 200 and r.json()["status"] == "accepted", r


def _consent_to_personalised(node: KithServer, who) -> None:
    client = node.client(token=who.token)
    control = client.get("/v1/me/suggestion-settings?locale=en").json()["personalised"]
    r = client.request("PUT", "/v1/me/suggestion-settings", {
        "personalised": True, "noticeVersion": control["noticeVersion"], "locale": "en",
        "textSHA256": control["textSHA256"], "initialState": "unchecked", "channel": "api"})
    assert r.status == 200 and r.json()["personalised"]["on"] is True, r


def _suggested(client, who) -> dict:
    r = client.get("/v1/me/suggestions?locale=en&limit=50")
    assert r.status == 200, r
    body = r.json()
    assert body["personalised"] is True, "the viewer consented on node A but node B serves a plain list"
    return {s["person"]["userId"]: [x["code"] for x in s["reasons"]] for s in body["suggestions"]}


def _wait_on(client, who, present: bool, target: str, since: float, limit: float = 10.0) -> float:
    """Polls node B until `target` is (or is no longer) suggested; returns the delay from `since`
    (keeps polling past the deadline up to `limit`, so a miss reports how late it was)."""
    while True:
        seen = target in _suggested(client, who)
        elapsed = time.monotonic() - since
        if seen is present:
            return elapsed
        if elapsed > limit:
            return float("inf")
        time.sleep(0.01)


def test_connection_on_a_appears_in_suggestions_on_b_within_2s(nodes):
    """Each node keeps its own in-memory replica of the graph and catches up from the shared change
    table: a connection made on A must reach B's suggestions within 2 s, and so must its removal.
    V — M on A, V consents to personalisation (on A); B serves V's suggestions (warm, without T);
    then M — T on A: T must appear among V's suggestions on B, for the mutual connection M."""
    a, b = nodes
    import yaml

    document = yaml.safe_load(a.client().get("/openapi.yaml", token=None).body)
    if "get" not in (document.get("paths", {}).get("/v1/me/suggestions") or {}):
        pytest.skip("GET /v1/me/suggestions is not in /openapi.yaml yet: the 2-second suggestions check waits for it")
    appear, vanish = [], []
    for round_ in range(SUGGESTION_ROUNDS):
        viewer, mutual, target = a.sign_up(), a.sign_up(), a.sign_up()
        _connect(a, viewer, mutual)
        _consent_to_personalised(a, viewer)
        on_b = b.client(token=viewer.token)
        # Node B has served V's list (its replica is loaded and warm) before T is connected.
        assert target.user_id not in _suggested(on_b, viewer), f"round {round_}: T suggested before any path to T"
        _connect(a, mutual, target)
        since = time.monotonic()  # the accept on node A has answered
        assert "mutual-connections" in _suggested(a.client(token=viewer.token), viewer).get(target.user_id, []), (
            f"round {round_}: node A itself does not suggest T"
        )
        delay = _wait_on(on_b, viewer, True, target.user_id, since)
        appear.append(delay)
        assert delay <= SUGGESTION_DEADLINE, (
            f"round {round_}: a connection made on node A reached node B's suggestions after "
            f"{delay:.3f} s (deadline {SUGGESTION_DEADLINE} s)"
        )
        assert "mutual-connections" in _suggested(on_b, viewer)[target.user_id]
        # The removal, made on A, must leave B's suggestions as fast.
        r = a.client(token=target.token).delete(f"/v1/me/connections/{mutual.user_id}")
        assert r.status == 204, r
        since = time.monotonic()
        delay = _wait_on(on_b, viewer, False, target.user_id, since)
        vanish.append(delay)
        assert delay <= SUGGESTION_DEADLINE, (
            f"round {round_}: a connection removed on node A left node B's suggestions after "
            f"{delay:.3f} s (deadline {SUGGESTION_DEADLINE} s)"
        )
    summary = (
        f"two nodes: connection on A in B's suggestions after {', '.join(f'{d * 1000:.0f}' for d in appear)} ms; "
        f"removal gone from B after {', '.join(f'{d * 1000:.0f}' for d in vanish)} ms "
        f"(deadline {SUGGESTION_DEADLINE * 1000:.0f} ms, {SUGGESTION_ROUNDS} rounds)"
    )
    print(summary)
    with (kithgates.workdir() / "two-nodes-summary.txt").open("a") as out:
        out.write(summary + "\n")


FORGET_DEADLINE = 2.0  # seconds: a person erased on one node is forgotten by the other (issue 14)


def test_person_erased_on_a_is_forgotten_by_b_within_2s(nodes):
    """DSR-04: Ann deletes her account on node A. Node B has her in its graph replica (it suggests her to V
    through their mutual connection M), in its discovery index and in its session cache (it answered for her
    token just now): within 2 s B no longer suggests her, lists her in V's second degree, answers for her token
    or shows her profile. Then `kith erase-verify` on the shared PostgreSQL database (through pg_dump) finds
    nothing of her, and finds M, who still exists."""
    a, b = nodes
    ann, mutual, viewer = a.sign_up(), a.sign_up(), a.sign_up()
    _connect(a, ann, mutual)
    _connect(a, mutual, viewer)
    _consent_to_personalised(a, viewer)
    on_b = b.client(token=viewer.token)
    # B catches the connections made on A up (the other gate times that) and suggests Ann, warm.
    assert _wait_on(on_b, viewer, True, ann.user_id, time.monotonic()) <= 10, "node B never suggested Ann"
    assert b.client(token=ann.token).get("/v1/me").status == 200

    me = a.client(token=ann.token)
    before = a.outbox_lines()
    started = a.ask_code(me, ann.phone, "/v1/me/deletion/verifications")
    assert started.status == 202, started
    code = a.read_code(ann.phone, after_line=max(0, before - 1))
    deleted = me.post("/v1/me/deletion", {"verificationId": started.json()["verificationId"], "code": code})
    assert deleted.status == 200 and deleted.json()["status"] == "erased", deleted
    since = time.monotonic()

    def forgotten() -> bool:
        second = on_b.get("/v1/me/network/second-degree")
        assert second.status == 200, second
        return (
            ann.user_id not in _suggested(on_b, viewer)
            and ann.user_id.encode() not in second.body
            and b.client(token=ann.token).get("/v1/me").status == 401
            and b.client(token=viewer.token).get(f"/v1/users/{ann.user_id}/profile").status == 404
        )

    while not forgotten():
        assert time.monotonic() - since <= 10, "node B still knows Ann 10 s after her erasure on node A"
        time.sleep(0.01)
    delay = time.monotonic() - since
    summary = f"two nodes: a person erased on A forgotten by B after {delay * 1000:.0f} ms (deadline {FORGET_DEADLINE * 1000:.0f} ms)"
    print(summary)
    with (kithgates.workdir() / "two-nodes-summary.txt").open("a") as out:
        out.write(summary + "\n")
    assert delay <= FORGET_DEADLINE, summary

    def erase_verify(person) -> subprocess.CompletedProcess:
        return subprocess.run(
            [kithgates.kith_bin(), "erase-verify", "--user", person.user_id],
            input=person.phone + "\n", capture_output=True, text=True, env=b.env(), timeout=120,
        )

    gone = erase_verify(ann)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    receipt = json.loads(gone.stdout)
    assert receipt["clean"] is True and "pg_dump" in receipt["files"], receipt
    present = erase_verify(mutual)
    assert present.returncode == 1, present.stdout + present.stderr
    hits = json.loads(present.stdout)["hits"]
    assert any(h["table"] == "users" for h in hits) and any(h["table"] == "pg_dump" for h in hits), hits
