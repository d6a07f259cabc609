"""Composing a grouped notice: how long planning and composing one message of N URLs takes.

    .venv/bin/python bench/notices.py [--urls 50] [--repeat 15]

Fills a fresh SQLite file with N notices at one hoster (attribution with prefix, origin AS and
WHOIS chain, an online check each), opens their cases, then times ``plan_messages`` (the due
cases locked, the facts read, the thread found, the Dutch text composed and the intent written)
plus ``build_email`` for the message, rolled back after each round so every round plans the same
first notice. Prints the median and the best round, per URL, in wall-clock and in CPU time (the
latter does not count time spent waiting for a core on a shared machine).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory

T0 = datetime(2024, 3, 1, 10, tzinfo=UTC)
HOSTER = "abuse@hoster.test"


def seed(url: str, count: int) -> None:
    from sqlalchemy import select

    from hostwatch.attribution.assets import AssetRules
    from hostwatch.identity import url_id
    from hostwatch.model.attribution import Attribution
    from hostwatch.model.case import Case
    from hostwatch.model.check import Check
    from hostwatch.model.db import session_scope
    from hostwatch.model.notice import Notice
    from hostwatch.model.url import Url
    from hostwatch.takedown.cases import open_cases
    from hostwatch.takedown.contacts import ContactSpec, add_contact

    chain = [{"key": "127.0.0.0 - 127.255.255.255", "netname": "LOOP", "org_name": "Hoster BV"}]
    with session_scope(url) as session:
        contact = add_contact(
            session,
            ContactSpec(name="Hoster BV", network="127.0.0.0/8", email=HOSTER, language="nl"),
            now=T0,
            rules=AssetRules.allowing(["127.0.0.0/8"]),
        )
        for n in range(count):
            address = f"http://127.0.0.{n % 250 + 1}/gallery/{n}"
            uid = url_id(address)
            session.add(
                Url(
                    id=uid,
                    url=address,
                    scheme="http",
                    host=f"127.0.0.{n % 250 + 1}",
                    host_type="ipv4",
                    port=None,
                    registered_domain=None,
                    first_seen_at=T0,
                )
            )
            session.flush()
            notice = Notice(
                notice_key=hashlib.sha256(address.encode()).hexdigest(),
                url_id=uid,
                source="bench",
                format="csv",
                classification="csam",
                received_at=T0,
                raw=address,
            )
            session.add(notice)
            session.flush()
            session.add(
                Attribution(
                    url_id=uid,
                    notice_id=notice.id,
                    at=T0,
                    computed_at=T0,
                    status="ok",
                    host=f"127.0.0.{n % 250 + 1}",
                    ips=[f"127.0.0.{n % 250 + 1}"],
                    ip=f"127.0.0.{n % 250 + 1}",
                    prefix="127.0.0.0/8",
                    origin_asn=64500,
                    as_name="LOOP-AS",
                    whois_chain=chain,
                    provider_id=contact.provider_id,
                    country="NL",
                )
            )
        session.flush()
        open_cases(session, now=T0)
        for case in session.scalars(select(Case)):
            case.next_message_at = T0
            session.add(
                Check(
                    url_id=case.url_id,
                    case_id=case.id,
                    checked_at=T0 - timedelta(minutes=5),
                    outcome="online",
                    online=True,
                    http_status=200,
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()

    from hostwatch.model.db import migrate, session_factory
    from hostwatch.model.message import Message
    from hostwatch.settings import configure
    from hostwatch.takedown.compose import build_email
    from hostwatch.takedown.notify import plan_messages
    from hostwatch.takedown.policy import load_policy

    with TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'notices.db'}"
        settings = configure(database_url=url, notifier_email="hotline@hotline.test")
        migrate(url)
        seed(url, args.urls)
        policy = load_policy(settings)
        factory = session_factory(url)
        rounds, cpu = [], []
        for _ in range(args.repeat + 1):
            with factory() as session:
                tick, tock = time.perf_counter(), time.process_time()
                ids = plan_messages(session, settings, policy, T0)
                mails = [build_email(session.get(Message, i), settings) for i in ids]
                rounds.append(time.perf_counter() - tick)
                cpu.append(time.process_time() - tock)
                assert len(mails) == 1 and len(mails[0].get_payload()) == args.urls + 1
                session.rollback()
        rounds, cpu = rounds[1:], cpu[1:]  # the first round also compiles the catalogue
    per_url = [r / args.urls * 1000 for r in rounds]
    cpu_per_url = [c / args.urls * 1000 for c in cpu]
    print(
        f"grouped notice of {args.urls} URLs (plan + compose + e-mail, SQLite): "
        f"median {statistics.median(per_url):.2f} ms per URL, best {min(per_url):.2f} ms "
        f"({statistics.median(rounds) * 1000:.1f} ms per message, {args.repeat} rounds); "
        f"CPU time (unaffected by other processes): median "
        f"{statistics.median(cpu_per_url):.2f} ms per URL"
    )


if __name__ == "__main__":
    main()
