"""The distributed workflow: procrastinate workers on PostgreSQL, any number, on any machines.

The steps of a pass (workflow.py) become tasks:

- ``tick`` (periodic, every minute, one at a time): attribute new notices, open cases, then
  queue ``send_messages`` and one ``check_case`` per case whose check is due;
- ``send_messages``: decide re-notices and escalations and write the message intents, then queue
  one ``deliver_message`` per intent;
- ``deliver_message``: send one intent and record its Delivery;
- ``check_case``: check one URL and apply the verdict.

No check or message is done twice: jobs carry a lock per case or message (a job with the same
lock waits while another runs), queueing locks keep one queued job per case or message, and the
work itself is idempotent (a check is recorded only while the case is still due; a message is
delivered only while it has no final Delivery, under ``FOR UPDATE SKIP LOCKED``). A worker that is
SIGKILLed leaves its jobs "doing"; every worker looks for jobs of workers whose heartbeat stopped
and puts them back, and the idempotent steps finish them exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate import exceptions as pexc
from procrastinate.schema import SchemaManager
from sqlalchemy import select

from hostwatch.clock import Clock, parse_instant
from hostwatch.model.case import Case
from hostwatch.model.db import migrate, session_factory, session_scope
from hostwatch.settings import Settings, get_settings
from hostwatch.takedown.cases import open_cases
from hostwatch.takedown.notify import deliver_pending, pending_message_ids, plan_messages
from hostwatch.takedown.policy import Policy, load_policy
from hostwatch.takedown.send import Transport
from hostwatch.takedown.verdicts import due_for_check
from hostwatch.takedown.workflow import attribute_new, check_cases

log = logging.getLogger(__name__)
NAMESPACE = "ntd"
_SCHEMA_LOCK = 0x6E7464  # "ntd": serialises schema creation by workers starting together


class _Runtime:
    """What the tasks of this process share: settings, policy, transport, a worker name."""

    settings: Settings | None = None
    policy: Policy | None = None
    transport: Transport | None = None
    name: str = f"{socket.gethostname()}:{os.getpid()}"

    @classmethod
    def configure(cls, settings: Settings, policy_path: Path | None = None) -> None:
        cls.settings = settings
        cls.policy = load_policy(settings, policy_path)
        cls.transport = Transport(settings)
        cls.name = f"{socket.gethostname()}:{os.getpid()}"

    @classmethod
    def get(cls) -> tuple[Settings, Policy, Transport]:
        if cls.settings is None or cls.policy is None or cls.transport is None:
            cls.configure(get_settings())
        assert cls.settings and cls.policy and cls.transport
        return cls.settings, cls.policy, cls.transport


def _now(now: str | None, settings: Settings) -> datetime:
    return parse_instant(now) if now else settings.clock().now()


def _send_messages(app: procrastinate.App, now: str | None) -> int:
    settings, policy, _ = _Runtime.get()
    instant = _now(now, settings)
    with session_scope(settings.database_url) as session:
        plan_messages(session, settings, policy, instant)
    with session_scope(settings.database_url) as session:
        pending = pending_message_ids(session)
    for message_id in pending:
        _defer(app, "deliver_message", message_id=message_id, now=instant.isoformat())
    return len(pending)


def _deliver_message(message_id: int, now: str | None) -> None:
    settings, policy, transport = _Runtime.get()
    instant = _now(now, settings)
    factory = session_factory(settings.database_url)
    deliver_pending(factory, settings, policy, transport, instant, only=[message_id])


def _check_case(app: procrastinate.App, case_id: int, now: str | None) -> int:
    settings, policy, _ = _Runtime.get()
    instant = _now(now, settings)
    with session_scope(settings.database_url) as session:
        due = [row for row in due_for_check(session, instant) if row[0] == case_id]
    done = check_cases(settings, policy, due, instant, worker=_Runtime.name).done
    with session_scope(settings.database_url) as session:
        renotice = session.scalar(
            select(Case.id).where(
                Case.id == case_id,
                Case.state == "reappeared",
                Case.next_message_at.is_not(None),
                Case.next_message_at <= instant,
            )
        )
    if renotice is not None:
        _defer(app, "send_messages", now=instant.isoformat())
    return done


def _tick(app: procrastinate.App, now: str | None) -> dict[str, int]:
    settings, _, _ = _Runtime.get()
    instant = _now(now, settings)
    attributed = attribute_new(settings, Clock.at(instant))
    with session_scope(settings.database_url) as session:
        opened = open_cases(session, now=instant)
    _defer(app, "send_messages", now=instant.isoformat())
    with session_scope(settings.database_url) as session:
        due = due_for_check(session, instant)
    for case_id, _url in due:
        _defer(app, "check_case", case_id=case_id, now=instant.isoformat())
    return {"attributed": attributed, "opened": opened.opened, "checks": len(due)}


_LOCKS = {
    "tick": lambda kw: {"lock": "tick", "queueing_lock": "tick"},
    "send_messages": lambda kw: {"lock": "send_messages", "queueing_lock": "send_messages"},
    "check_case": lambda kw: {
        "lock": f"case:{kw['case_id']}",
        "queueing_lock": f"check:{kw['case_id']}",
    },
    "deliver_message": lambda kw: {
        "lock": f"message:{kw['message_id']}",
        "queueing_lock": f"deliver:{kw['message_id']}",
    },
}


def _defer(app: procrastinate.App, name: str, **kwargs: Any) -> None:
    """Queue a task with its locks, unless the same work is already queued."""
    with suppress(pexc.AlreadyEnqueued):
        app.configure_task(f"{NAMESPACE}:{name}", **_LOCKS[name](kwargs)).defer(**kwargs)


def _register(app: procrastinate.App, periodic: bool) -> None:
    @app.task(name=f"{NAMESPACE}:tick")
    def tick(now: str | None = None) -> dict[str, int]:
        """One pass, spread over the workers: attribute, open cases, queue messages and checks."""
        return _tick(app, now)

    @app.task(name=f"{NAMESPACE}:send_messages")
    def send_messages(now: str | None = None) -> int:
        """Decide notices, re-notices and escalations; queue a delivery for every open intent."""
        return _send_messages(app, now)

    @app.task(name=f"{NAMESPACE}:deliver_message")
    def deliver_message(message_id: int, now: str | None = None) -> None:
        """Send one message intent (nothing when another worker has or had it)."""
        _deliver_message(message_id, now)

    @app.task(name=f"{NAMESPACE}:check_case")
    def check_case(case_id: int, now: str | None = None) -> int:
        """Check one case's URL if still due, apply the verdict, queue what became due."""
        return _check_case(app, case_id, now)

    if periodic:

        @app.periodic(cron="* * * * *", periodic_id="pass")
        @app.task(name=f"{NAMESPACE}:periodic_tick", queueing_lock="periodic_tick")
        def periodic_tick(timestamp: int) -> None:
            """Every minute: a tick at the worker's clock."""
            _defer(app, "tick")


def conninfo(database_url: str) -> str:
    """The libpq form of a SQLAlchemy PostgreSQL URL."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix) :]
    return database_url


def make_app(database_url: str, *, periodic: bool = True) -> procrastinate.App:
    if not database_url.startswith(("postgresql", "postgres")):
        raise ValueError("procrastinate workers need PostgreSQL; on SQLite use `hostwatch run`")
    connector = procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
    app = procrastinate.App(connector=connector)
    _register(app, periodic)
    return app


def ensure_schema(database_url: str) -> bool:
    """Apply procrastinate's schema when it is missing; True when this call applied it."""
    import psycopg

    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            exists = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if exists and exists[0] is not None:
                return False
            schema = SchemaManager.get_schema()
            conn.execute(schema.encode())  # type: ignore[call-overload]
            return True
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))


async def _recover_stalled(app: procrastinate.App, stalled_after: float) -> None:
    """Put the jobs of workers whose heartbeat stopped (killed, lost) back in the queue."""
    while True:
        await asyncio.sleep(max(1.0, stalled_after / 2))
        try:
            await app.job_manager.prune_stalled_workers(stalled_after)
            for job in await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=stalled_after
            ):
                log.warning("retrying job %s (%s) of a stalled worker", job.id, job.task_name)
                await app.job_manager.retry_job(job)
        except Exception:
            log.exception("stalled-job recovery failed; trying again")


def run_worker(
    settings: Settings,
    *,
    concurrency: int = 4,
    policy_path: Path | None = None,
    periodic: bool = True,
    stalled_after: float = 30.0,
) -> None:
    """Run one worker process until it is stopped (SIGINT/SIGTERM finish the running jobs)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"
    )
    migrate(settings.database_url)
    ensure_schema(settings.database_url)
    _Runtime.configure(settings, policy_path)
    app = make_app(settings.database_url, periodic=periodic)

    async def main() -> None:
        async with app.open_async():
            recovery = asyncio.create_task(_recover_stalled(app, stalled_after))
            try:
                await app.run_worker_async(
                    concurrency=concurrency,
                    name=_Runtime.name,
                    update_heartbeat_interval=max(0.5, stalled_after / 5),
                    stalled_worker_timeout=stalled_after,
                    fetch_job_polling_interval=1.0,
                    delete_jobs="successful",
                    install_signal_handlers=True,
                )
            finally:
                recovery.cancel()
                with suppress(asyncio.CancelledError):
                    await recovery

    asyncio.run(main())


def defer_tick(database_url: str, now: datetime | None = None) -> None:
    """Queue one tick (at ``now`` when given): how a replay drives the workers' clock."""
    app = make_app(database_url, periodic=False)
    with app.open():
        _defer(app, "tick", now=now.isoformat() if now else None)


def open_jobs(database_url: str) -> int:
    """Jobs queued or running: zero means the workers have finished everything asked of them."""
    import psycopg

    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
        ).fetchone()
    return int(row[0]) if row else 0
