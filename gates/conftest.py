"""pytest wiring of the CI quality gates (issue 5). Run through scripts/gates.sh.

Environment:
  KITH_BIN                 the kith binary under test (required)
  KITH_TEST_POSTGRES_URL   the CI PostgreSQL cluster (gates that need it skip without it, unless
                           KITH_GATES_REQUIRE_POSTGRES=1, as in CI, where they fail instead)
  KITH_GATES_WORKDIR       scratch directory (made if unset); server logs land in its logs/
  KITH_FUZZ_SECONDS        schemathesis time budget (default 150)
  KITH_LOAD_SECONDS        wrk duration per scenario (default 5; 30 for the recorded figures)
  KITH_CRASH_KILLS_SQLITE / _POSTGRES, KITH_CRASH_WRITES_SQLITE / _POSTGRES   crash-gate sizes
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kithgates  # noqa: E402


def pytest_configure(config):
    kithgates.workdir()  # fixes KITH_GATES_WORKDIR for this run and every child process


def pytest_collection_modifyitems(session, config, items):
    # The log scan reads what every other gate left behind, so it runs last.
    items.sort(key=lambda item: 1 if item.nodeid.startswith("test_logs") or "/test_logs" in item.nodeid else 0)


def pytest_report_header(config):
    return [
        f"kith binary: {os.environ.get('KITH_BIN')}",
        f"gates workdir: {kithgates.workdir()}",
        f"postgres: {'yes' if kithgates.postgres_url() else 'no'}",
    ]


@pytest.fixture
def servers():
    """Servers a test starts; all stopped at its end (logs stay in the workdir for the log gate)."""
    started = kithgates.ServerSet()
    yield started
    started.stop_all()


def require_postgres() -> str:
    url = kithgates.postgres_url()
    if not url:
        if os.environ.get("KITH_GATES_REQUIRE_POSTGRES") == "1":
            pytest.fail("KITH_TEST_POSTGRES_URL is not set but this run requires PostgreSQL")
        pytest.skip("KITH_TEST_POSTGRES_URL is not set: start it with `source scripts/postgres.sh start`")
    return url


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default
