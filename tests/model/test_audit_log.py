"""The audit log as its users meet it: ``hostwatch audit keygen|head|verify|proof``, and attacks.

The attacker writes the database directly (SQL), as someone with the database's credentials
would: edits an event, recomputes its hash and the tree row, deletes the newest events,
truncates. Only a head signed earlier with a key outside the database can catch the careful
ones; ``audit verify --head`` must name where the log stops being the one the head promised.
"""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import column, delete, insert, select, table, update
from typer.testing import CliRunner

from hostwatch.cli.app import app
from hostwatch.model import AuditEvent, AuditHead, AuditTree
from hostwatch.model.audit import event_leaf, record
from hostwatch.model.audit_heads import HeadKey
from hostwatch.model.audit_verify import verify_log
from hostwatch.model.base import JsonType, UTCDateTime
from hostwatch.model.db import engine_for, migrate, session_scope
from hostwatch.model.merkle import CompactTree, verify_inclusion
from hostwatch.settings import Settings

T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def _append(url: str, first: int, count: int) -> None:
    """``count`` events, two per transaction, as the workflow writes them."""
    for start in range(first, first + count, 2):
        with session_scope(url) as s:
            for i in range(start, min(start + 2, first + count)):
                record(
                    s,
                    at=T0 + timedelta(minutes=i),
                    actor="analyst",
                    action="case.state",
                    object_type="case",
                    object_id=i,
                    reason=f"step {i}",
                    data={"to": "notified", "n": i},
                )


@pytest.fixture
def key_file(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "audit.pem"
    path.parent.mkdir()
    code, out = run("audit", "keygen", "--out", str(path))
    assert code == 0 and "key_id" in out, out
    monkeypatch.setenv("HOSTWATCH_AUDIT_KEY_FILE", str(path))
    return path


def _head(tmp_path: Path, name: str) -> Path:
    code, out = run("audit", "head")
    assert code == 0, out
    head = json.loads(out)
    assert set(head) >= {"tree_size", "root_hash", "timestamp", "key_id", "signature"}
    path = tmp_path / name
    path.write_text(out)
    return path


def test_keygen_writes_a_private_key_only_its_owner_reads(key_file: Path) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    code, _ = run("audit", "keygen", "--out", str(key_file))
    assert code == 2  # never overwritten


def test_a_raw_seed_is_the_same_key_as_its_pem(tmp_path: Path) -> None:
    seed = bytes(range(32))
    (tmp_path / "seed").write_bytes(seed)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.from_private_bytes(seed).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "pem").write_bytes(pem)
    assert HeadKey.load(tmp_path / "seed").key_id == HeadKey.load(tmp_path / "pem").key_id
    (tmp_path / "junk").write_bytes(b"not a key")
    with pytest.raises(ValueError, match="neither"):
        HeadKey.load(tmp_path / "junk")


def test_a_log_that_grew_after_the_head_still_extends_it(
    settings: Settings, key_file: Path, tmp_path: Path
) -> None:
    url = settings.database_url
    _append(url, 0, 5)
    old = _head(tmp_path, "old_head.json")
    assert json.loads(old.read_text())["tree_size"] == 5
    code, out = run("audit", "verify", "--head", str(old))
    assert code == 0 and "extends the head of 5 events" in out, out
    _append(url, 5, 6)
    code, out = run("audit", "verify", "--head", str(old))
    assert code == 0 and "audit log intact: 11 events" in out, out
    new = json.loads(_head(tmp_path, "new_head.json").read_text())
    assert new["tree_size"] == 11

    with session_scope(url) as s:
        fourth = s.scalar(select(AuditEvent.id).where(AuditEvent.seq == 3))
    code, out = run("audit", "proof", str(fourth))
    assert code == 0, out
    proof = json.loads(out)
    assert proof["leaf_index"] == 3 and proof["tree_size"] == 11
    assert proof["root_hash"] == new["root_hash"]
    assert verify_inclusion(
        3,
        11,
        bytes.fromhex(proof["leaf_hash"]),
        [bytes.fromhex(p) for p in proof["proof"]],
        bytes.fromhex(new["root_hash"]),
    )
    code, out = run("audit", "verify")
    assert code == 0 and "2 stored head(s) checked" in out, out


def _rebuild_tree_row(url: str) -> None:
    """What a careful attacker does after changing events: make the tree row fit them again."""
    with session_scope(url) as s:
        tree = CompactTree()
        for stored in s.scalars(select(AuditEvent.hash).order_by(AuditEvent.seq)):
            tree.append(bytes.fromhex(stored))
        s.get(AuditTree, 1).store(tree)  # type: ignore[union-attr]


def _edit(url: str, seq: int, recompute: bool) -> None:
    with session_scope(url) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.seq == seq)).one()
        event.reason = "history rewritten"
        if recompute:
            event.hash = event_leaf(event).hex()
    if recompute:
        _rebuild_tree_row(url)


ATTACKS = {
    # name: (attack, what `audit verify --head` must say)
    "edit one event": (lambda url: _edit(url, 3, False), "broken at event"),
    "edit and recompute": (lambda url: _edit(url, 3, True), "an index from 2 to 7"),
    "delete the newest": (
        lambda url: _delete_from(url, 6, rebuild=True),
        "truncated to 6 events (first missing index 6)",
    ),
    "delete without covering up": (
        lambda url: _delete_from(url, 6, rebuild=False),
        "index 6: the tree row says 10 events, the log holds 6",
    ),
    "truncate": (lambda url: _delete_from(url, 0, rebuild=True), "first missing index 0"),
}


def _delete_from(url: str, seq: int, rebuild: bool) -> None:
    with session_scope(url) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= seq))
    if rebuild:
        _rebuild_tree_row(url)


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_an_old_head_catches_what_the_database_alone_cannot(
    attack: str, settings: Settings, key_file: Path, tmp_path: Path
) -> None:
    url = settings.database_url
    _append(url, 0, 2)
    _head(tmp_path, "early_head.json")  # kept in audit_heads too
    _append(url, 2, 6)
    old = _head(tmp_path, "old_head.json")
    _append(url, 8, 2)  # the log grew legitimately after the head: 10 events
    assert run("audit", "verify", "--head", str(old))[0] == 0

    do, says = ATTACKS[attack]
    do(url)
    code, out = run("audit", "verify", "--head", str(old))
    assert code == 1, out
    assert says in out, out
    if attack == "edit one event":
        assert "index 3" in out

    # The attacker who also drops the stored heads fools a verify without a reference, never
    # one against the head handed out before.
    with session_scope(url) as s:
        s.execute(delete(AuditHead))
    if attack in ("edit and recompute", "delete the newest", "truncate"):
        assert run("audit", "verify")[0] == 0
    code, out = run("audit", "verify", "--head", str(old))
    assert code == 1, out


def test_a_head_fails_with_another_key_or_a_forged_field(
    settings: Settings, key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _append(settings.database_url, 0, 4)
    head = _head(tmp_path, "head.json")
    raw = json.loads(head.read_text())

    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({**raw, "tree_size": 3}))
    code, out = run("audit", "verify", "--head", str(forged))
    assert code == 1 and "signature does not verify" in out, out

    other = tmp_path / "other.pem"
    HeadKey.generate(other)
    monkeypatch.setenv("HOSTWATCH_AUDIT_KEY_FILE", str(other))
    code, out = run("audit", "verify", "--head", str(head))
    assert code == 1 and "the configured key is" in out, out
    code, out = run("audit", "verify")  # the stored head is not this key's either
    assert code == 1 and "stored head" in out, out

    monkeypatch.delenv("HOSTWATCH_AUDIT_KEY_FILE")
    assert run("audit", "verify", "--head", str(head))[0] == 2  # no key: nothing to check with
    assert run("audit", "head")[0] == 2


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema yet, to be migrated step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    import psycopg

    server = os.environ.get("HOSTWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432")
    name = f"hw_audit_up_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{server}/{name}"
    engine_for(f"{server}/{name}").dispose()
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_existing_chained_events_become_leaves_on_upgrade(empty_url: str) -> None:
    """A database from before the tree: its events, in id order, are the first leaves."""
    url = empty_url
    migrate(url, "0007")
    old_events = table(
        "audit_events",
        column("at", UTCDateTime()),
        column("actor"),
        column("action"),
        column("object_type"),
        column("object_id"),
        column("reason"),
        column("data", JsonType),
        column("prev_hash"),
        column("hash"),
    )
    with session_scope(url) as s:
        s.execute(
            insert(old_events),
            [
                {
                    "at": T0 + timedelta(minutes=i),
                    "actor": "a",
                    "action": "case.state",
                    "object_type": "case",
                    "object_id": str(i),
                    "reason": None,
                    "data": {"b": i, "a": [1, 2]},
                    "prev_hash": "x",
                    "hash": "y",
                }
                for i in range(5)
            ],
        )
    migrate(url)
    with session_scope(url) as s:
        check = verify_log(s, None)
        assert check.intact and check.tree_size == 5, check.problems
        rows = s.execute(select(AuditEvent.id, AuditEvent.seq).order_by(AuditEvent.id)).all()
        assert [seq for _, seq in rows] == [0, 1, 2, 3, 4]
    _append(url, 5, 3)
    with session_scope(url) as s:
        assert verify_log(s, None).tree_size == 8
        s.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(object_id="9"))
    with session_scope(url) as s:
        first = verify_log(s, None).first_problem
    assert first is not None and first.index == 1


def test_the_report_carries_the_head_it_was_built_on(
    settings: Settings, key_file: Path, tmp_path: Path
) -> None:
    from metrics.test_frame import populate

    populate(settings.database_url)
    _append(settings.database_url, 0, 3)
    out = tmp_path / "report"
    code, output = run("report", "--period", "2024", "--out", str(out), "--no-pdf")
    assert code == 0, output
    with session_scope(settings.database_url) as s:
        head = s.scalars(select(AuditHead)).one()  # signed for the report and kept
    html = (out / "report.html").read_text(encoding="utf-8")
    assert head.tree_size == 3
    assert head.root_hash in html and head.signature in html and head.key_id in html
    code, output = run("audit", "verify")
    assert code == 0 and "1 stored head(s) checked" in output, output
