"""Gate — a person's export as a real client and the offline verifier see it (DSR-01, DSR-05; issue 14).

A person signs up, fills a profile, connects and is endorsed through the HTTP API, then downloads
`GET /v1/me/export`. The archive is opened with Python's own `zipfile`, `data.json` is validated with a
JSON Schema validator (jsonschema_rs) against the schema the server publishes at `/schemas/export-v1.json`,
`index.html` is checked to be a text statement in both languages, and `kith ledger verify-export` checks
the log proofs offline: it passes on the download and fails once one byte of an entry is changed.
"""

from __future__ import annotations

import io
import json
import subprocess
import zipfile

import jsonschema_rs

import kithgates


def test_export_validates_and_verifies_offline(servers):
    server = servers.add(kithgates.KithServer("export")).start()
    ann, bob = server.sign_up(), server.sign_up()
    me = server.client(token=ann.token)
    assert me.request("PATCH", "/v1/me/profile", {"displayName": "Ann Gate", "city": "Shenzhen"}).status == 200
    asked = me.post("/v1/me/connection-requests", {"userId": bob.user_id})
    assert asked.status == 201, asked
    accepted = server.client(token=bob.token).post(
        f"/v1/me/connection-requests/{asked.json()['requestId']}", {"action": "accept"}
    )
    assert accepted.status == 200, accepted
    endorsed = server.client(token=bob.token).post(f"/v1/users/{ann.user_id}/endorsements", {"preset": "reliable"})
    assert endorsed.status == 201, endorsed

    r = me.get("/v1/me/export")
    assert r.status == 200 and r.content_type == "application/zip", r
    archive = zipfile.ZipFile(io.BytesIO(r.body))
    assert set(archive.namelist()) == {"data.json", "index.html"}
    data = json.loads(archive.read("data.json"))
    schema = server.client().get("/schemas/export-v1.json")
    assert schema.status == 200, schema
    validator = jsonschema_rs.validator_for(schema.json())
    errors = [str(error) for error in validator.iter_errors(data)]
    assert not errors, "data.json does not follow its published schema:\n" + "\n".join(errors[:10])
    assert data["userId"] == ann.user_id and data["phone"] == ann.phone
    assert data["tables"]["profiles"][0]["display_name"] == "Ann Gate"
    assert len(data["tables"]["connections"]) >= 1 and len(data["tables"]["endorsements"]) == 1
    assert data["log"]["entries"], "no log entries about the person"
    statement = archive.read("index.html").decode("utf-8")
    assert "个人信息副本" in statement and "Your Kith data" in statement and "Ann Gate" in statement
    assert "<img" not in statement, "the statement is text, never pictures of text"

    download = server.dir / "kith-export.zip"
    download.write_bytes(r.body)
    ok = subprocess.run([kithgates.kith_bin(), "ledger", "verify-export", str(download)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"{len(data['log']['entries'])} entries proved" in ok.stdout

    # One changed byte in one entry: the verifier says which entry and fails.
    data["log"]["entries"][0]["entry"] = data["log"]["entries"][0]["entry"].replace('"seq":', '"seq" :', 1)
    forged = server.dir / "forged.zip"
    with zipfile.ZipFile(forged, "w") as out:
        out.writestr("data.json", json.dumps(data))
        out.writestr("index.html", statement)
    bad = subprocess.run([kithgates.kith_bin(), "ledger", "verify-export", str(forged)], capture_output=True, text=True)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"entry {data['log']['entries'][0]['seq']} is not in the signed tree" in bad.stdout
