"""Shared machinery of the CI quality gates (issue 5): start `kith serve` on loopback, talk HTTP to it,
sign people up through the development SMS outbox, and remember every phone number, code and token
the gates used so the log gate can prove none of them reached a server log.

Imported by the pytest suites (through conftest.py) and by the schemathesis hooks, which run in a
separate process; the two share state through files under ``KITH_GATES_WORKDIR``.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import phonenumbers

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------------
# Where things go

def workdir() -> Path:
    """The run's scratch directory: server dirs, logs, the secrets register, reports."""
    path = os.environ.get("KITH_GATES_WORKDIR")
    if not path:
        path = tempfile.mkdtemp(prefix="kith-gates-")
        os.environ["KITH_GATES_WORKDIR"] = path
    p = Path(path)
    p.mkdir(parents=True, exist_ok=True)
    return p


def logs_dir() -> Path:
    p = workdir() / "logs"
    p.mkdir(parents=True, exist_ok=True)
    return p


def kith_bin() -> str:
    path = os.environ.get("KITH_BIN")
    if not path:
        raise RuntimeError("KITH_BIN is not set: point it at the kith binary (scripts/gates.sh does)")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"KITH_BIN={path} is not an executable")
    return path


def postgres_url() -> str | None:
    return os.environ.get("KITH_TEST_POSTGRES_URL") or None


# --------------------------------------------------------------------------------------------------
# The secrets register: every phone number, code and token the gates used (values are never printed)

_secrets_lock = threading.Lock()


def record_secret(kind: str, value: str) -> None:
    """Appends one used secret to the register (any process may append; lines are written whole)."""
    if not value:
        return
    line = json.dumps({"kind": kind, "value": value}) + "\n"
    with _secrets_lock:
        with open(workdir() / "secrets.jsonl", "a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            f.write(line)
            f.flush()
            fcntl.flock(f, fcntl.LOCK_UN)


def record_phone(e164: str) -> None:
    record_secret("phone", e164)


def read_secrets() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    path = workdir() / "secrets.jsonl"
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                out.setdefault(item["kind"], set()).add(item["value"])
    return out


# --------------------------------------------------------------------------------------------------
# Phone numbers: unique per run, mainland China mobiles (+86 1[3-9]x xxxx xxxx)

_phone_lock = threading.Lock()
_phones_issued: set[str] = set()
_phone_rng = random.Random(int.from_bytes(os.urandom(8), "big"))


def is_mobile(e164: str) -> bool:
    """Whether libphonenumber (the pinned Python port) calls the number one a text can reach: mobile, or
    fixed-line-or-mobile where its metadata cannot tell. Kith's own tables are generated from the same
    release (scripts/phone-metadata.sh), so the gates and the server read numbers alike."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def new_phone() -> str:
    """A fresh CN mobile number (E.164) nobody in this run used; recorded in the secrets register."""
    with _phone_lock:
        while True:
            national = "1" + _phone_rng.choice("3456789") + "".join(_phone_rng.choice("0123456789") for _ in range(9))
            e164 = "+86" + national
            if e164 not in _phones_issued and is_mobile(e164):
                _phones_issued.add(e164)
                break
    record_phone(e164)
    return e164


def national_form(e164: str) -> str:
    assert e164.startswith("+86"), e164
    return e164[3:]


# --------------------------------------------------------------------------------------------------
# HTTP on loopback, optionally from a chosen loopback source address (127.x.y.z)

@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)

    def problem_code(self) -> str | None:
        if self.content_type.startswith("application/problem+json"):
            try:
                return self.json().get("code")
            except ValueError:
                return None
        return None

    def __repr__(self) -> str:  # never prints bodies that may hold a token
        return f"<Response {self.status} {self.content_type} problem={self.problem_code()}>"


class Client:
    """A tiny keep-alive HTTP/1.1 client bound to one source address (per-address rate limits are
    keyed by it, so distinct loopback addresses are distinct clients, as they would be in life)."""

    def __init__(self, base_url: str, *, source_ip: str | None = None, token: str | None = None, timeout: float = 15):
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.source_ip = source_ip
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(
                self.host,
                self.port,
                timeout=self.timeout,
                source_address=(self.source_ip, 0) if self.source_ip else None,
            )
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None | bool = True,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Response:
        """Sends one request; `token=True` uses the client's token, a string another one, None/False none.

        Raises OSError / http.client.HTTPException when the connection fails (the caller decides what an
        unanswered request means)."""
        h = {"accept": "application/json"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None:
            h["content-type"] = "application/json"
        bearer = self.token if token is True else (token or None)
        if bearer:
            h["authorization"] = f"Bearer {bearer}"
        if headers:
            h.update(headers)
        conn = self._connection()
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            payload = r.read()
        except Exception:
            self.close()
            raise
        if r.getheader("connection", "").lower() == "close":
            self.close()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, payload)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)


# --------------------------------------------------------------------------------------------------
# Servers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_postgres_database(prefix: str) -> str:
    """Creates a fresh database on the CI cluster and returns its URL."""
    base = postgres_url()
    if not base:
        raise RuntimeError("KITH_TEST_POSTGRES_URL is not set")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    subprocess.run(["psql", base, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True)
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


class SourceAddresses:
    """Hands out loopback client addresses, each in its own /24 and each for at most `per_address` code
    requests, so a gate can sign up many people without touching the per-address (5 codes burst) and
    per-network (15 burst per /24) code limits. One per database: the buckets live in the store and
    survive restarts and are shared by nodes. `block` is the second octet to start from (127.<block>.x.1),
    so allocators of different databases or tests never share an address."""

    def __init__(self, per_address: int = 4, block: int = 0):
        self.per_address = per_address
        self._lock = threading.Lock()
        self._octets = self._gen(block)
        self._current: str | None = None
        self._used = 0

    @staticmethod
    def _gen(block: int):
        for b in range(block, 256):
            for c in range(1, 256):
                yield f"127.{b}.{c}.1"

    def take(self) -> str:
        with self._lock:
            if self._current is None or self._used >= self.per_address:
                self._current = next(self._octets)
                self._used = 0
            self._used += 1
            return self._current


@dataclass
class Session:
    phone: str = field(repr=False)
    token: str = field(repr=False)
    user_id: str
    new_account: bool


class KithServer:
    """One `kith serve` process on 127.0.0.1 with its own directory, outbox, key file and log."""

    def __init__(
        self,
        name: str,
        *,
        database_url: str | None = None,
        key_file: str | Path | None = None,
        outbox: str | Path | None = None,
        port: int | None = None,
        directory: Path | None = None,
        addresses: SourceAddresses | None = None,
        extra_env: dict[str, str] | None = None,
    ):
        self.name = name
        self.dir = directory or Path(tempfile.mkdtemp(prefix=f"{name}-", dir=workdir()))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or f"sqlite://{self.dir / 'kith.sqlite'}"
        self.key_file = str(key_file or self.dir / "kith.keys")
        self.outbox = str(outbox or self.dir / "outbox.jsonl")
        self.port = port or free_port()
        self.addresses = addresses or SourceAddresses()
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self._log_handle = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
        env.update(
            {
                "KITH_HOST": "127.0.0.1",
                "KITH_PORT": str(self.port),
                "KITH_DATABASE_URL": self.database_url,
                "KITH_SMS_OUTBOX": self.outbox,
                "KITH_KEY_FILE": self.key_file,
                "KITH_LOG_LEVEL": "trace",
                # Gates sign people in again within seconds; the default 30 s back-off between two codes to
                # one number is the Swift tests' to prove (CodeLimitTests). Every other code limit stays.
                "KITH_CODES_BACKOFF_SECONDS": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def log_path(self, what: str = "serve") -> Path:
        return logs_dir() / f"{self.name}-{what}.log"

    def start(self, timeout: float = 60) -> "KithServer":
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        log = open(self.log_path(), "ab")
        log.write(f"\n=== start #{self.starts} of {self.name} at {time.time():.3f}\n".encode())
        log.flush()
        self._log_handle = log
        self.proc = subprocess.Popen(
            [kith_bin(), "serve"],
            cwd=self.dir,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        client = Client(self.base_url, timeout=2)
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name}: kith serve exited with {self.proc.returncode}; see {self.log_path()}")
            try:
                if client.get("/health").status == 200:
                    return
            except OSError:
                pass
            except http.client.HTTPException:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: not healthy after {timeout}s; see {self.log_path()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._close_log()

    def stop(self) -> int | None:
        """SIGTERM (graceful shutdown); returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._close_log()
        return self.proc.returncode

    def _close_log(self) -> None:
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def kith(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """Runs another `kith` command with this server's configuration; output goes to the log dir too."""
        result = subprocess.run(
            [kith_bin(), *args],
            cwd=self.dir,
            env=self.env(),
            capture_output=True,
            timeout=timeout,
        )
        with open(self.log_path("-".join(a for a in args if not a.startswith("-"))), "ab") as log:
            log.write(f"\n=== kith {' '.join(args)} -> {result.returncode}\n".encode())
            log.write(result.stdout)
            log.write(result.stderr)
        return result

    def ledger_verify(self) -> subprocess.CompletedProcess:
        return self.kith("ledger", "verify")

    def client(self, *, source_ip: str | None = None, token: str | None = None) -> Client:
        return Client(self.base_url, source_ip=source_ip, token=token)

    # ---- the sign-up flow through the outbox

    def read_code(self, e164: str, after_line: int = 0, timeout: float = 10, kind: str | None = "verification") -> str:
        """The newest code texted to `e164` (of message kind `kind`; None for any), recorded as a secret."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                lines = Path(self.outbox).read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                lines = []
            for line in reversed(lines[after_line:]):
                try:
                    message = json.loads(line)
                except ValueError:
                    continue  # a line being written
                if message.get("to") == e164 and (kind is None or message.get("kind") == kind):
                    match = re.search(r"(?<!\d)(\d{6})(?!\d)", message["body"])
                    if match:
                        code = match.group(1)
                        record_secret("code", code)
                        return code
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: no verification SMS in the outbox for a number we asked a code for")
            time.sleep(0.02)

    def outbox_lines(self) -> int:
        try:
            with open(self.outbox, "rb") as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def start_verification(self, phone: str, *, source_ip: str | None = None) -> Response:
        client = self.client(source_ip=source_ip or self.addresses.take())
        try:
            return client.post("/v1/auth/verifications", {"phone": phone}, token=None)
        finally:
            client.close()

    @staticmethod
    def ask_code(client: "Client", phone: str, path: str = "/v1/auth/verifications") -> Response:
        """Asks for a code as an app would: after a 429 whose Retry-After is a few seconds (the back-off
        between two codes to one number), it waits that long and asks once more. Sign-in codes go
        without the client's token; other paths (a number change) with it."""
        token = None if path == "/v1/auth/verifications" else client.token
        r = client.post(path, {"phone": phone}, token=token)
        wait = r.headers.get("retry-after")
        if r.status == 429 and wait and wait.isdigit() and int(wait) <= 3:
            time.sleep(int(wait) + 0.1)
            r = client.post(path, {"phone": phone}, token=token)
        return r

    def sign_up(self, phone: str | None = None, *, source_ip: str | None = None, typed: str | None = None) -> Session:
        """Signs a person up (or in) through the outbox; every secret is recorded. `phone` is E.164;
        `typed` is the form sent to the server, if another one (national, spaced…)."""
        phone = phone or new_phone()
        record_phone(phone)
        client = self.client(source_ip=source_ip or self.addresses.take())
        try:
            started = self.ask_code(client, typed or phone)
            assert started.status == 202, f"startPhoneVerification answered {started!r}"
            verification_id = started.json()["verificationId"]
            code = self.read_code(phone)
            verified = client.post("/v1/auth/sessions", {"verificationId": verification_id, "code": code}, token=None)
            assert verified.status in (200, 201), f"verifyPhone answered {verified!r}"
            data = verified.json()
            record_secret("token", data["token"])
            return Session(phone=phone, token=data["token"], user_id=data["userId"], new_account=data["newAccount"])
        finally:
            client.close()


class ServerSet:
    """Every server a test started, stopped at the end."""

    def __init__(self) -> None:
        self.servers: list[KithServer] = []

    def add(self, server: KithServer) -> KithServer:
        self.servers.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.servers:
            try:
                server.stop()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass


# --------------------------------------------------------------------------------------------------
# The OpenAPI document

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    operation_id: str
    secured: bool
    responses: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} ({self.operation_id})"


def operations(document: dict) -> list[Operation]:
    result = []
    global_security = document.get("security") or []
    for path, item in (document.get("paths") or {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is None:
                continue
            security = op.get("security", global_security)
            secured = any(requirement for requirement in security)
            result.append(
                Operation(
                    method=method,
                    path=path,
                    operation_id=op.get("operationId", f"{method} {path}"),
                    secured=secured,
                    responses=tuple(str(k) for k in (op.get("responses") or {})),
                )
            )
    return result


def consent_purposes(notice: dict) -> list[dict]:
    return [p for p in notice["purposes"] if p.get("basis") == "consent"]


def grant_body(notice: dict, purpose: str, channel: str = "api") -> dict:
    """A valid grantConsent body for `purpose` under the served notice (hash of the text shown)."""
    entry = next(p for p in notice["purposes"] if p["id"] == purpose)
    return {
        "purpose": purpose,
        "noticeVersion": notice["version"],
        "locale": notice["locale"],
        "textSHA256": entry["consentTextSHA256"],
        "initialState": "unchecked",
        "channel": channel,
    }


def which(tool: str) -> str | None:
    return shutil.which(tool)
