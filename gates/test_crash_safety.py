"""Gate 3 — crash safety (issue 5; SEC-08; SQLite's and PostgreSQL's durability, Jepsen-style faults).

A writer workload — consent grants and withdrawals across the consent purposes, and sign-ups — runs
against `kith serve` from several client threads; the server is SIGKILLed at random moments while
requests are in flight, then restarted. The client keeps its own record of every write: acknowledged
(2xx received), refused (4xx/5xx received) or unknown (the connection died with the server). After
every restart, and once more at the end, it checks:

  * no acknowledged write was lost: every acknowledged grant's record is there and active unless a
    later withdrawal was acknowledged; every acknowledged withdrawal stamped every earlier record;
    an acknowledged sign-up's session still works, and the number can sign in again (same account);
  * no unknown write is half-applied: a grant either exists completely (evidence in the processing
    log, the fields we sent) or not at all, at most one per unknown grant; a withdrawal either
    stamped all records that were active before it (one time, one evidence) or none; a sign-up whose
    answer was lost can sign in (200 or 201), never a 5xx;
  * GET /v1/me/consents' status agrees with the records, and a withdrawal's `withdrawn` count is
    exactly the number of records the client knows to be active;
  * `kith ledger verify` (same KITH_DATABASE_URL and KITH_KEY_FILE) exits 0 after every restart.

A full disk is tested separately: the SQLite file on a 16 MiB tmpfs, filled up; every write must fail
with 503 `store-unavailable` or 507 (never a false 2xx: each 2xx must still be there after space is
freed and the server restarted), and the server must not crash.
"""

from __future__ import annotations

import http.client
import os
import random
import shutil
import subprocess
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import kithgates
from conftest import env_int, require_postgres
from kithgates import KithServer, Session

WORKERS = 3
SIGNUP_SHARE = 0.04


# --------------------------------------------------------------------------------------------------
# The client-side record

@dataclass
class PurposeModel:
    known: dict[str, str] = field(default_factory=dict)  # record id -> "active" | "withdrawn"
    unknown_grants: int = 0
    unknown_withdraw: bool = False

    def active(self) -> set[str]:
        return {rid for rid, state in self.known.items() if state == "active"}


@dataclass
class User:
    session: Session
    purposes: dict[str, PurposeModel] = field(default_factory=lambda: defaultdict(PurposeModel))
    dirty: bool = False  # touched since the last check

    def __repr__(self) -> str:
        return f"<User {self.session.user_id}>"


@dataclass
class SignUp:
    phone: str = field(repr=False)
    state: str  # "acked" | "unknown"
    session: Session | None = None
    checked_after_restart: bool = False


class Record:
    """Everything the workload did, shared by the worker threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked = 0
        self.unknown = 0
        self.refused: list[str] = []
        self.signups: list[SignUp] = []
        self.problems: list[str] = []

    def add_unknown(self) -> None:
        with self.lock:
            self.unknown += 1

    def ack(self, n: int = 1) -> None:
        with self.lock:
            self.acked += n

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


class ServerGone(Exception):
    pass


# --------------------------------------------------------------------------------------------------
# The workload

class Worker(threading.Thread):
    def __init__(self, index: int, harness: "Harness", users: list[User]):
        super().__init__(daemon=True, name=f"writer-{index}")
        self.index = index
        self.h = harness
        self.users = users
        self.rng = random.Random(index * 7919 + int.from_bytes(os.urandom(4), "big"))
        self.parked_generation = 0

    def run(self) -> None:
        h = self.h
        seen = 0
        while True:
            with h.cond:
                h.cond.wait_for(lambda: h.finished or h.generation > seen)
                if h.finished:
                    return
                seen = h.generation
            clients: dict[str, kithgates.Client] = {}
            try:
                while h.running and h.generation == seen:
                    self.step(clients)
            except ServerGone:
                pass
            except Exception as error:  # noqa: BLE001 - a broken writer is a finding, not a hang
                h.record.problem(f"{self.name} failed: {error!r}")
            finally:
                for c in clients.values():
                    c.close()
                with h.cond:
                    self.parked_generation = seen
                    h.cond.notify_all()

    def call(self, client: kithgates.Client, method: str, path: str, body=None) -> kithgates.Response:
        try:
            return client.request(method, path, body)
        except (OSError, http.client.HTTPException) as error:
            raise ServerGone() from error

    def step(self, clients: dict[str, kithgates.Client]) -> None:
        h = self.h
        if self.rng.random() < SIGNUP_SHARE or not self.users:
            self.sign_up()
            return
        user = self.rng.choice(self.users)
        purpose = self.rng.choice(h.purposes)
        model = user.purposes[purpose]
        client = clients.get(user.session.user_id)
        if client is None:
            client = clients[user.session.user_id] = h.server.client(token=user.session.token)
        user.dirty = True
        if model.active() and self.rng.random() < 0.6:
            expected = len(model.active())
            try:
                r = self.call(client, "DELETE", f"/v1/me/consents/{purpose}")
            except ServerGone:
                model.unknown_withdraw = True
                h.record.add_unknown()
                raise
            if r.status == 200:
                h.record.ack()
                if r.json().get("withdrawn") != expected:
                    h.record.problem(f"{user}: withdrawal of {purpose} stamped {r.json().get('withdrawn')} records, the client knows {expected} active")
                for rid in model.active():
                    model.known[rid] = "withdrawn"
            else:
                self.refused(r, "withdrawConsent")
        else:
            body = kithgates.grant_body(h.notice, purpose)
            try:
                r = self.call(client, "POST", "/v1/me/consents", body)
            except ServerGone:
                model.unknown_grants += 1
                h.record.add_unknown()
                raise
            if r.status == 201:
                h.record.ack()
                record = r.json()
                model.known[record["id"]] = "active"
                check_record_fields(record, body, h.record, user)
            else:
                self.refused(r, "grantConsent")

    def refused(self, r: kithgates.Response, operation: str) -> None:
        self.h.record.problem(f"{operation} answered {r.status} {r.problem_code()} outside any fault")

    def sign_up(self) -> None:
        h = self.h
        phone = kithgates.new_phone()
        client = h.server.client(source_ip=h.server.addresses.take())
        try:
            try:
                start_line = h.server.outbox_lines()
                r = self.call(client, "POST", "/v1/auth/verifications", {"phone": phone})
            except ServerGone:
                h.record.add_unknown()
                h.record.signups.append(SignUp(phone, "unknown"))
                raise
            if r.status != 202:
                self.refused(r, "startPhoneVerification")
                return
            h.record.ack()
            verification_id = r.json()["verificationId"]
            code = h.server.read_code(phone, after_line=max(0, start_line - 1))
            try:
                r = self.call(client, "POST", "/v1/auth/sessions", {"verificationId": verification_id, "code": code})
            except ServerGone:
                h.record.add_unknown()
                h.record.signups.append(SignUp(phone, "unknown"))
                raise
            if r.status != 201:
                self.refused(r, "verifyPhone")
                return
            h.record.ack()
            data = r.json()
            kithgates.record_secret("token", data["token"])
            session = Session(phone=phone, token=data["token"], user_id=data["userId"], new_account=True)
            h.record.signups.append(SignUp(phone, "acked", session))
            self.users.append(User(session))
        finally:
            client.close()


def check_record_fields(record: dict, body: dict, rec: Record, user: User) -> None:
    for key in ("purpose", "noticeVersion", "locale", "initialState", "channel"):
        if record.get(key) != body[key]:
            rec.problem(f"{user}: consent record {record.get('id')} has {key}={record.get(key)!r}, we sent {body[key]!r}")
    if record.get("textSHA256", "").lower() != body["textSHA256"].lower():
        rec.problem(f"{user}: consent record {record.get('id')} has another textSHA256 than we sent")
    if not str(record.get("evidence", "")).startswith("log:"):
        rec.problem(f"{user}: consent record {record.get('id')} has no processing-log evidence (half-applied grant)")
    if (record.get("withdrawnAt") is None) != (record.get("withdrawalEvidence") is None):
        rec.problem(f"{user}: consent record {record.get('id')} is withdrawn without evidence or vice versa (half-applied withdrawal)")


# --------------------------------------------------------------------------------------------------
# The coordinator

class Harness:
    def __init__(self, server: KithServer, users: list[User], notice: dict):
        self.server = server
        self.notice = notice
        self.purposes = [p["id"] for p in kithgates.consent_purposes(notice)]
        self.record = Record()
        self.cond = threading.Condition()
        self.generation = 0
        self.running = False
        self.finished = False
        per = max(1, len(users) // WORKERS)
        self.workers = [Worker(i, self, users[i * per:(i + 1) * per] if i < WORKERS - 1 else users[i * per:]) for i in range(WORKERS)]
        self.kills = 0
        self.ledger_checks = 0

    @property
    def users(self) -> list[User]:
        return [u for w in self.workers for u in w.users]

    def run(self, kills: int, writes: int) -> None:
        for w in self.workers:
            w.start()
        rng = random.Random()
        per_segment = writes / (kills + 1)
        try:
            while self.kills < kills:
                target = self.record.acked + rng.uniform(0.3, 1.7) * per_segment
                self.segment(until=lambda: self.record.acked >= target, kill=True, rng=rng)
            self.segment(until=lambda: self.record.acked >= writes, kill=False, rng=rng)
        finally:
            with self.cond:
                self.finished = True
                self.running = False
                self.cond.notify_all()
            for w in self.workers:
                w.join(timeout=30)

    def segment(self, until, kill: bool, rng: random.Random) -> None:
        with self.cond:
            self.generation += 1
            self.running = True
            self.cond.notify_all()
        deadline = time.monotonic() + 120
        while not until():
            if time.monotonic() > deadline:
                raise AssertionError("the workload stalled for 120 s")
            if len(self.record.problems) > 50:
                break
            time.sleep(0.002)
        if kill:
            time.sleep(rng.uniform(0, 0.02))  # off the request boundary
            self.server.kill()  # while requests are in flight
            self.kills += 1
        with self.cond:
            self.running = False
            if not self.cond.wait_for(lambda: all(w.parked_generation == self.generation for w in self.workers), timeout=60):
                raise AssertionError("a writer did not stop")
        if kill:
            self.after_crash()

    def after_crash(self) -> None:
        verify = self.server.ledger_verify()
        self.ledger_checks += 1
        if verify.returncode != 0:
            self.record.problem(f"kith ledger verify exited {verify.returncode} after kill #{self.kills}: {verify.stdout.decode()[-500:]}")
        self.server.start()
        self.check(only_dirty=True)

    # ---- checks

    def check(self, only_dirty: bool) -> None:
        for user in self.users:
            if only_dirty and not user.dirty:
                continue
            self.check_user(user)
            user.dirty = False
        for signup in self.record.signups:
            if signup.state == "acked" and not signup.checked_after_restart:
                r = self.server.client(token=signup.session.token).get("/v1/me")
                if r.status != 200 or r.json().get("userId") != signup.session.user_id:
                    self.record.problem(f"acknowledged sign-up {signup.session.user_id}: its session answers {r!r} after a restart (lost)")
                signup.checked_after_restart = True

    def check_user(self, user: User) -> None:
        rec = self.record
        r = self.server.client(token=user.session.token).get("/v1/me/consents")
        if r.status != 200:
            rec.problem(f"{user}: listMyConsents answered {r!r} after restart")
            return
        data = r.json()
        records = data["records"]
        by_purpose: dict[str, dict[str, dict]] = defaultdict(dict)
        for item in records:
            by_purpose[item["purpose"]][item["id"]] = item
            check_record_fields(item, kithgates.grant_body(self.notice, item["purpose"]), rec, user)
        for purpose in self.purposes:
            model = user.purposes[purpose]
            observed = by_purpose.get(purpose, {})
            lost = [rid for rid in model.known if rid not in observed]
            if lost:
                rec.problem(f"{user}: acknowledged grant(s) {lost} of {purpose} lost")
            extra = [rid for rid in observed if rid not in model.known]
            if len(extra) > model.unknown_grants:
                rec.problem(f"{user}: {len(extra)} {purpose} record(s) appeared but only {model.unknown_grants} grant(s) were unacknowledged")
            for rid in extra:
                if observed[rid].get("withdrawnAt") is not None:
                    rec.problem(f"{user}: an unacknowledged grant {rid} of {purpose} appeared already withdrawn")
                model.known[rid] = "withdrawn" if observed[rid].get("withdrawnAt") is not None else "active"
            model.unknown_grants = 0
            # Withdrawals
            was_active = [rid for rid, state in model.known.items() if state == "active" and rid in observed and rid not in extra]
            now_withdrawn = [rid for rid in was_active if observed[rid].get("withdrawnAt") is not None]
            if model.unknown_withdraw:
                if now_withdrawn and len(now_withdrawn) != len(was_active):
                    rec.problem(f"{user}: an unacknowledged withdrawal of {purpose} stamped {len(now_withdrawn)} of {len(was_active)} records (half-applied)")
                stamps = {(observed[rid]["withdrawnAt"], observed[rid]["withdrawalEvidence"]) for rid in now_withdrawn}
                if len(stamps) > 1:
                    rec.problem(f"{user}: one withdrawal of {purpose} left {len(stamps)} different stamps")
                for rid in now_withdrawn:
                    model.known[rid] = "withdrawn"
                model.unknown_withdraw = False
            elif now_withdrawn:
                rec.problem(f"{user}: {purpose} record(s) {now_withdrawn} withdrawn that the client never asked to withdraw")
            for rid, state in model.known.items():
                if state == "withdrawn" and rid in observed and observed[rid].get("withdrawnAt") is None:
                    rec.problem(f"{user}: acknowledged withdrawal of {purpose} lost (record {rid} active again)")
            status = next((s for s in data["status"] if s["purpose"] == purpose), None)
            active = {rid for rid, item in observed.items() if item.get("withdrawnAt") is None}
            if status is None or status["granted"] != bool(active):
                rec.problem(f"{user}: status of {purpose} says granted={status and status['granted']} with {len(active)} active record(s)")

    def final_check(self) -> None:
        self.check(only_dirty=False)
        # Every acknowledged sign-up can sign in again, to the same account; every sign-up whose answer
        # was lost can sign in too (200 if it had been applied, 201 if not), never a 5xx.
        for signup in self.record.signups:
            try:
                session = self.server.sign_up(signup.phone)
            except AssertionError as error:
                self.record.problem(f"sign-up ({signup.state}) cannot sign in again: {error}")
                continue
            if signup.state == "acked" and (session.new_account or session.user_id != signup.session.user_id):
                self.record.problem(f"acknowledged sign-up {signup.session.user_id}: signing in again made a new account (lost)")
            if signup.state == "unknown":
                r = self.server.client(token=session.token).get("/v1/me")
                if r.status != 200 or r.json().get("phone") != signup.phone:
                    self.record.problem(f"unacknowledged sign-up: the account is unusable after signing in: {r!r}")
        verify = self.server.ledger_verify()
        self.ledger_checks += 1
        if verify.returncode != 0:
            self.record.problem(f"kith ledger verify exited {verify.returncode} at the end: {verify.stdout.decode()[-500:]}")


def run_crash_gate(server: KithServer, kills: int, writes: int, label: str) -> None:
    started = time.monotonic()
    server.start()
    notice = server.client().get("/v1/privacy/notice?locale=en", token=None).json()
    users = [User(server.sign_up()) for _ in range(WORKERS * 6)]
    harness = Harness(server, users, notice)
    harness.run(kills=kills, writes=writes)
    if server.alive():
        server.stop()
    server.start()
    harness.final_check()
    rec = harness.record
    summary = (
        f"crash safety on {label}: {harness.kills} SIGKILLs survived, {rec.acked} acknowledged writes, "
        f"{rec.unknown} unacknowledged (in flight at a kill), {len([s for s in rec.signups if s.state == 'acked'])} sign-ups, "
        f"{len(harness.users)} users, ledger verified {harness.ledger_checks} times, {time.monotonic() - started:.0f} s"
    )
    print(summary)
    with open(kithgates.workdir() / "crash-summary.txt", "a") as f:
        f.write(summary + "\n")
    assert not rec.problems, summary + "\n" + "\n".join(rec.problems[:40])
    assert harness.kills >= kills and rec.acked >= writes, summary


def test_crash_safety_sqlite(servers):
    server = servers.add(KithServer("crash-sqlite"))
    run_crash_gate(
        server,
        kills=env_int("KITH_CRASH_KILLS_SQLITE", 30),
        writes=env_int("KITH_CRASH_WRITES_SQLITE", 6000),
        label="SQLite",
    )


def test_crash_safety_postgres(servers):
    require_postgres()
    url = kithgates.new_postgres_database("kith_gates_crash")
    server = servers.add(KithServer("crash-postgres", database_url=url))
    run_crash_gate(
        server,
        kills=env_int("KITH_CRASH_KILLS_POSTGRES", 25),
        writes=env_int("KITH_CRASH_WRITES_POSTGRES", 4000),
        label="PostgreSQL",
    )


# --------------------------------------------------------------------------------------------------
# Full disk

REFUSALS = {(503, "store-unavailable"), (507, None), (507, "store-unavailable"), (507, "insufficient-storage")}


# The full-disk tmpfs: several times what the store holds after its migrations and a few sign-ups (~2 MiB
# of database and WAL), so that the filler, not the store, is what fills it.
FULL_DISK_BYTES = 16 << 20


def fill(directory: Path) -> None:
    """Fills the filesystem of `directory` to the last byte (unbuffered writes, smaller and smaller)."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            block = b"\0" * size
            try:
                while True:
                    os.write(fd, block)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_full_disk_sqlite(servers):
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root")
    mountpoint = kithgates.workdir() / "full-disk-mnt"
    mountpoint.mkdir(exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FULL_DISK_BYTES}", "tmpfs", str(mountpoint)], capture_output=True, text=True)
    assert mounted.returncode == 0, f"cannot mount a {FULL_DISK_BYTES} B tmpfs: {mounted.stderr.strip()}"
    try:
        run_full_disk(servers, mountpoint)
    finally:
        for s in servers.servers:
            s.stop()
        subprocess.run(["umount", "-l", str(mountpoint)], capture_output=True)


def run_full_disk(servers, mountpoint: Path) -> None:
    server = servers.add(KithServer("full-disk", database_url=f"sqlite://{mountpoint / 'kith.sqlite'}")).start()
    notice = server.client().get("/v1/privacy/notice?locale=en", token=None).json()
    purposes = [p["id"] for p in kithgates.consent_purposes(notice)]
    people = [server.sign_up() for _ in range(4)]
    acked: dict[str, dict[str, str]] = {p.user_id: {} for p in people}  # user -> record id -> state
    problems: list[str] = []
    refused = 0
    refusal_kinds: dict[str, int] = {}
    answered_2xx = 0

    def write(i: int) -> None:
        nonlocal refused, answered_2xx
        person = people[i % len(people)]
        purpose = purposes[(i // len(people)) % len(purposes)]
        client = server.client(token=person.token)
        try:
            mine = acked[person.user_id]
            if i % 3 == 2:
                r = client.delete(f"/v1/me/consents/{purpose}")
            else:
                r = client.post("/v1/me/consents", kithgates.grant_body(notice, purpose))
        except (OSError, http.client.HTTPException) as error:
            problems.append(f"write #{i}: no answer ({error!r}); server alive: {server.alive()}")
            return
        finally:
            client.close()
        if 200 <= r.status < 300:
            answered_2xx += 1
            if r.status == 201:
                mine[r.json()["id"]] = purpose
            else:
                for rid, p in list(mine.items()):
                    if p == purpose:
                        mine[rid] = "withdrawn:" + purpose
        elif (r.status, r.problem_code()) in REFUSALS or (r.status == 507):
            refused += 1
            refusal_kinds[f"{r.status} {r.problem_code()}"] = refusal_kinds.get(f"{r.status} {r.problem_code()}", 0) + 1
        else:
            problems.append(f"write #{i} on a full disk answered {r.status} {r.problem_code()}: {r.body[:300]!r}")

    fill(mountpoint)
    free = shutil.disk_usage(mountpoint).free
    # Freeing the filler must give the store room again: it holds most of the disk, not the store itself
    # (on a 2 MiB tmpfs the store's WAL after its migrations and the checkpointed file filled the disk on
    # their own, and freeing the empty filler freed nothing).
    filler_bytes = (mountpoint / "filler").stat().st_size
    assert filler_bytes >= FULL_DISK_BYTES // 2, (
        f"the store took {FULL_DISK_BYTES - filler_bytes} of {FULL_DISK_BYTES} B before the disk was filled; mount a larger tmpfs"
    )
    i = 0
    # Keep writing until the store refuses (the WAL may still have room for a few), then 50 more.
    first_refusal = None
    while i < 3000 and (first_refusal is None or i < first_refusal + 50) and len(problems) < 10:
        before = refused
        write(i)
        if refused > before and first_refusal is None:
            first_refusal = i
        i += 1
    # A code must not be sent for a verification the store could not record.
    outbox_before = server.outbox_lines()
    phone = kithgates.new_phone()
    r = server.start_verification(phone) if server.alive() else None
    if r is not None and not ((r.status, r.problem_code()) in REFUSALS or r.status == 507 or r.status == 202):
        problems.append(f"startPhoneVerification on a full disk answered {r.status} {r.problem_code()}")
    if r is not None and r.status != 202 and server.outbox_lines() != outbox_before:
        problems.append("a code was sent although the verification was refused")
    health = server.client().get("/health", token=None) if server.alive() else None
    alive_when_full = server.alive()
    if health is not None and health.status not in (200, 503):
        problems.append(f"/health on a full disk answered {health.status}")

    # Free the space: the server must recover, and every 2xx must have been real.
    (mountpoint / "filler").unlink()
    recovered = False
    if server.alive():
        for attempt in range(20):
            client = server.client(token=people[0].token)
            try:
                r = client.post("/v1/me/consents", kithgates.grant_body(notice, purposes[0]))
            finally:
                client.close()
            if r.status == 201:
                acked[people[0].user_id][r.json()["id"]] = purposes[0]
                recovered = True
                break
            time.sleep(0.25)
    server.stop()
    server.start()
    for person in people:
        r = server.client(token=person.token).get("/v1/me/consents")
        assert r.status == 200, r
        records = {x["id"]: x for x in r.json()["records"]}
        for rid, state in acked[person.user_id].items():
            if rid not in records:
                problems.append(f"a grant answered 2xx on the full disk is gone after restart ({rid})")
            elif state.startswith("withdrawn:") and records[rid].get("withdrawnAt") is None:
                problems.append(f"a withdrawal answered 2xx on the full disk is gone after restart ({rid})")
    verify = server.ledger_verify()
    if verify.returncode != 0:
        problems.append(f"kith ledger verify exited {verify.returncode} after the full disk: {verify.stdout.decode()[-300:]}")
    summary = (
        f"full disk: {i} writes on a full {FULL_DISK_BYTES >> 20} MiB tmpfs ({filler_bytes} B of filler, free {free} B): {refused} refused ({refusal_kinds}), "
        f"{answered_2xx} answered 2xx (all still there after restart: {not any('gone' in p for p in problems)}), "
        f"first refusal at write #{first_refusal}, server alive: {alive_when_full}, recovered after freeing space: {recovered}"
    )
    print(summary)
    with open(kithgates.workdir() / "crash-summary.txt", "a") as f:
        f.write(summary + "\n")
    assert alive_when_full, summary + "\nthe server died on a full disk; see " + str(server.log_path())
    assert first_refusal is not None, summary + "\nno write was refused: the disk never filled"
    assert not problems, summary + "\n" + "\n".join(problems)
    assert recovered, summary + "\nwrites still fail after the disk has space again"
