"""Gate — deletion and proof of erasure as a client and an operator's shell see them (DSR-04, ACC-10; issue 14).

A person signs up, connects, is endorsed, then deletes their account through the API with the code sent to
their own number. The deletion answers `erased` with a clean, signed receipt; the person's token is refused;
`kith erase-verify` run on the server's store (the SQLite file and WAL after a checkpoint, and the server's own
log file) finds nothing of them, and run for a person who still exists finds them (so the scan can fail).
"""

from __future__ import annotations

import json
import subprocess

import kithgates


def erase_verify(server: kithgates.KithServer, user_id: str, phone: str) -> subprocess.CompletedProcess:
    env = server.env()
    # The number on standard input, as an operator should give it: never on a command line `ps` shows.
    return subprocess.run(
        [kithgates.kith_bin(), "erase-verify", "--user", user_id, "--file", f"server log={server.log_path()}"],
        input=phone + "\n", capture_output=True, text=True, env=env, timeout=120,
    )


def test_deletion_leaves_nothing_an_operator_can_find(servers):
    server = servers.add(kithgates.KithServer("erasure")).start()
    ann, bob = server.sign_up(), server.sign_up()
    me = server.client(token=ann.token)
    asked = me.post("/v1/me/connection-requests", {"userId": bob.user_id})
    assert asked.status == 201, asked
    accepted = server.client(token=bob.token).post(
        f"/v1/me/connection-requests/{asked.json()['requestId']}", {"action": "accept"}
    )
    assert accepted.status == 200, accepted
    assert server.client(token=bob.token).post(f"/v1/users/{ann.user_id}/endorsements", {"preset": "mentor"}).status == 201

    before = server.outbox_lines()
    started = server.ask_code(me, ann.phone, "/v1/me/deletion/verifications")
    assert started.status == 202, started
    code = server.read_code(ann.phone, after_line=max(0, before - 1))
    deleted = me.post("/v1/me/deletion", {"verificationId": started.json()["verificationId"], "code": code})
    assert deleted.status == 200, deleted
    body = deleted.json()
    assert body["status"] == "erased" and body["receipt"]["clean"] is True, body.get("receipt")
    assert ann.user_id not in deleted.body.decode() and ann.phone not in deleted.body.decode()
    assert server.client(token=ann.token).get("/v1/me").status == 401
    # Bob's side no longer names Ann.
    connections = server.client(token=bob.token).get(f"/v1/users/{bob.user_id}/connections")
    assert connections.status == 200 and ann.user_id.encode() not in connections.body

    gone = erase_verify(server, ann.user_id, ann.phone)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    receipt = json.loads(gone.stdout)
    assert receipt["clean"] is True and "SQLite file" in receipt["files"] and "server log" in receipt["files"], receipt

    present = erase_verify(server, bob.user_id, bob.phone)
    assert present.returncode == 1, present.stdout + present.stderr
    hits = json.loads(present.stdout)["hits"]
    assert any(h["table"] == "users" for h in hits) and any(h["table"] == "SQLite file" for h in hits), hits
