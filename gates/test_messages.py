"""Gate — every message in the outbox proves who sent it (MSG-02, MSG-04; issue 13).

A server with server-side SMS invitations turned on (`KITH_INVITATION_SMS=true`): people sign up (codes)
and one of them invites three strangers, each after a preview. Then, for every line of the outbox, an
operator's `getMessageEvidence` returns the authorising entry and its inclusion proof, which this gate checks
itself (RFC 9162 §2.1.3.2, SHA-256) against the tree head the answer carries: the entry is the one the line's
`evidence` names, and for an invitation it is the inviter's `sendInvitation` in a session, with a preview
hash that is the SHA-256 of the line's body, byte for byte. `kith ledger prove MESSAGE_ID` prints the same
entry offline, and `kith ledger verify` passes afterwards.
"""

from __future__ import annotations

import hashlib
import json
import subprocess

import kithgates


def leaf_hash(entry: str) -> bytes:
    return hashlib.sha256(b"\x00" + entry.encode()).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, path: list[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def test_every_outbox_line_resolves_to_its_user_action(servers):
    server = servers.add(kithgates.KithServer("messages", extra_env={"KITH_INVITATION_SMS": "true"})).start()
    # Not through server.kith(), which keeps the output in the logs: the token is printed once, for the operator.
    created = subprocess.run([kithgates.kith_bin(), "operator", "create", "--name", "gate.messages"],
                             cwd=server.dir, env=server.env(), capture_output=True, text=True, timeout=60)
    assert created.returncode == 0, created.stderr
    operator = created.stdout.strip().splitlines()[-1]
    kithgates.record_secret("token", operator)

    ann = server.sign_up()
    me = server.client(token=ann.token)
    assert me.request("PATCH", "/v1/me/profile", {"displayName": "Ann"}).status == 200
    previews = {}
    for n in range(3):
        stranger = kithgates.new_phone()
        preview = me.post("/v1/me/invitations/previews", {"phone": stranger, "channel": "sms"})
        assert preview.status == 200, preview
        sent = me.post("/v1/me/invitations", {"previewToken": preview.json()["previewToken"],
                                              "clientActionId": f"gate-tap-{n}"})
        assert sent.status == 201, sent
        previews[sent.json()["invitation"]["messageId"]] = (stranger, preview.json()["text"])

    lines = [json.loads(line) for line in open(server.outbox, encoding="utf-8") if line.strip()]
    assert len([m for m in lines if m["kind"] == "invitation"]) == 3, "an invitation was not sent, or sent twice"
    ops = server.client(token=operator)
    for message in lines:
        r = ops.get(f"/v1/operator/messages/{message['messageId']}/evidence")
        assert r.status == 200, r
        evidence = r.json()
        entry, proof, head = evidence["entry"], evidence["proof"], evidence["treeHead"]
        assert message["evidence"] == f"log:{entry['seq']}", "the line names another entry than its authorisation"
        assert json.loads(proof["entry"]) == entry and proof["seq"] == entry["seq"]
        assert bytes.fromhex(proof["leafHash"]) == leaf_hash(proof["entry"]), "the leaf is not the entry's hash"
        assert proof["root"] == head["root"] and proof["treeSize"] == head["treeSize"]
        assert verify_inclusion(
            leaf_hash(proof["entry"]), proof["seq"] - 1, proof["treeSize"],
            [bytes.fromhex(p) for p in proof["auditPath"]], bytes.fromhex(head["root"]),
        ), f"the inclusion proof of entry {entry['seq']} does not verify"
        assert entry["evidence"]["messageId"] == message["messageId"]
        if message["kind"] == "invitation":
            stranger, text = previews[message["messageId"]]
            assert message["to"] == stranger and message["body"] == text, "the SMS is not the previewed text"
            assert entry["evidence"]["previewSHA256"] == hashlib.sha256(message["body"].encode()).hexdigest()
            assert entry["initiation"]["action"] == "sendInvitation" and entry["initiation"].get("session")
            assert entry["evidence"]["clientActionId"].startswith("gate-tap-")
            assert entry["actor"].startswith("s:"), "an invitation not sent by a person"
        else:
            assert message["kind"] == "verification", message["kind"]
        # The same evidence offline, from the operator's shell.
        offline = server.kith("ledger", "prove", message["messageId"])
        assert offline.returncode == 0, offline.stdout + offline.stderr
        assert json.loads(offline.stdout)["entry"] == entry
    assert server.ledger_verify().returncode == 0
