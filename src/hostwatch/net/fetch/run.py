"""``hostwatch data fetch`` and ``hostwatch data import`` as library calls.

Fetch asks each source for the files of one day, downloads what the store does not hold yet,
verifies each file (complete compressed stream, content of the expected kind), and records it in
the manifest. Run it twice and the second run downloads nothing: dated files already stored are
checked locally, "latest" files are asked for with ETag/Last-Modified and compared by SHA-256.
Import does the same for files already on disk. One failing source does not stop the others.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx

from hostwatch.clock import Clock
from hostwatch.net.asnames import tag_in_name
from hostwatch.net.fetch.detect import (
    ROUTING_KINDS,
    date_in_name,
    dated_name,
    delegated_day,
    detect,
    detect_kind,
    publication_day,
)
from hostwatch.net.fetch.download import DownloadError, check_complete, download
from hostwatch.net.fetch.prepare import Prepared, UnusableFileError, prepare
from hostwatch.net.fetch.sources import FETCH_KINDS, FetchPlan, Wanted, wanted_files
from hostwatch.net.fetch.store import ManifestEntry, ReferenceStore, now_text, sha256_of


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one file: downloaded/imported, unchanged, present, skipped or failed."""

    kind: str | None
    source: str
    status: str
    path: Path | None
    message: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def fetch_reference_data(
    store: ReferenceStore,
    *,
    kinds: Sequence[str] = FETCH_KINDS,
    day: date | None = None,
    base_urls: dict[str, str] | None = None,
    plan_options: dict[str, object] | None = None,
    clock: Clock,
    timeout: float = 60.0,
    report: Callable[[Outcome], None] | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> list[Outcome]:
    """Download the public sources of ``kinds`` for ``day`` (default: today) into the store.

    ``report`` hears each file's outcome; ``progress(url, received, total)`` each arriving chunk.
    """
    today = clock.now().date()
    day = day or today
    plan = FetchPlan(
        day=day,
        base_urls=dict(base_urls or {}),
        latest=day >= today,
        **(plan_options or {}),  # type: ignore[arg-type]
    )
    outcomes: list[Outcome] = []

    def note(outcome: Outcome) -> None:
        outcomes.append(outcome)
        if report is not None:
            report(outcome)

    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        for kind in kinds:
            try:
                wanted = wanted_files(plan, kind, client)
            except (DownloadError, ValueError) as exc:
                note(Outcome(kind, kind, "failed", None, str(exc)))
                continue
            for item in wanted:
                try:
                    note(_fetch_one(store, client, item, clock, progress))
                except DownloadError as exc:
                    note(Outcome(kind, item.url, "failed", None, str(exc)))
    return outcomes


def _fetch_one(
    store: ReferenceStore,
    client: httpx.Client,
    item: Wanted,
    clock: Clock,
    progress: Callable[[str, int, int | None], None] | None,
) -> Outcome:
    if item.filename is not None and not item.refresh:
        target = store.target(item.kind, item.filename)
        entry = store.entry_for(store.relative(target))
        if entry is not None and store.is_intact(entry):
            return Outcome(item.kind, item.url, "present", target, "already in the store")
    previous = _last_from(store, item.url)
    part = store.root / item.kind / ".partial" / (hashlib.sha256(item.url.encode()).hexdigest())
    result = download(
        client,
        item.url,
        part,
        etag=previous.etag if previous else None,
        last_modified=previous.last_modified if previous else None,
        progress=(lambda got, total: progress(item.url, got, total)) if progress else None,
    )
    if result.not_modified and previous is not None:
        return Outcome(item.kind, item.url, "unchanged", store.root / previous.path, "304")
    problem = check_complete(part) or _kind_problem(part, item.kind)
    if problem:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{item.url}: {problem}")
    if previous is not None and previous.sha256 == result.sha256 and store.is_intact(previous):
        part.unlink(missing_ok=True)
        return Outcome(item.kind, item.url, "unchanged", store.root / previous.path, "same bytes")
    snapshot = item.snapshot or _content_day(part, item.kind) or clock.now().date()
    try:
        prepared = prepare(part, item.kind, None, day=snapshot, tag=None)
    except UnusableFileError as exc:
        part.unlink(missing_ok=True)
        raise DownloadError(f"{item.url}: cannot be used: {exc}") from exc
    filename = item.filename or dated_name(item.url.rsplit("/", 1)[-1], snapshot)
    target = store.target(item.kind, filename)
    target.parent.mkdir(parents=True, exist_ok=True)
    part.replace(target)
    found = detect(target)
    store.record(
        ManifestEntry(
            kind=item.kind,
            path=store.relative(target),
            sha256=result.sha256 or sha256_of(target),
            size=result.size,
            snapshot=snapshot.isoformat(),
            source=item.url,
            method="fetch",
            added_at=now_text(clock.now()),
            etag=result.etag,
            last_modified=result.last_modified,
            format=found.format if found else None,
            rows=prepared.rows,
            series=prepared.series,
            binary=_save_binary(store, target, prepared),
        )
    )
    detail = f"resumed at byte {result.resumed_from}" if result.resumed_from else ""
    return Outcome(item.kind, item.url, "downloaded", target, detail)


def import_reference_files(
    store: ReferenceStore,
    paths: Iterable[Path | str],
    *,
    kind: str | None = None,
    tag: str | None = None,
    day: date | None = None,
    link: bool = False,
    clock: Clock,
    report: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Put local files (or every file under given folders) into the store, kind by content.

    Each file is read as attribution will read it (a routing table is stored in binary form as
    well); a file that cannot be used fails with the reason. ``tag`` names the tag of a bgp.tools
    tag list whose file name does not (``tags-<tag>.csv``). The day a file describes comes from
    its content, else its name or folder, else ``day``, else the day of the import (said so):
    an undated file must still be catalogued, or attribution would not see it.
    """
    outcomes: list[Outcome] = []
    for given in map(Path, paths):
        if given.is_dir():
            files = sorted(p for p in given.rglob("*") if p.is_file())
            in_folder = True
        else:
            files, in_folder = [given], False
        for path in files:
            outcome = _import_one(store, path, kind, tag, day, link, clock, in_folder)
            outcomes.append(outcome)
            if report is not None:
                report(outcome)
    return outcomes


def _import_one(
    store: ReferenceStore,
    path: Path,
    kind: str | None,
    tag: str | None,
    day: date | None,
    link: bool,
    clock: Clock,
    in_folder: bool,
) -> Outcome:
    if not path.exists():
        return Outcome(kind, str(path), "failed", None, "no such file")
    found = detect(path)
    if found is not None and found.kind is None:
        return Outcome(None, str(path), "skipped" if in_folder else "failed", None, found.refusal)
    found_kind = found.kind if found is not None else None
    if kind is not None and found_kind is not None and found_kind != kind:
        return Outcome(
            kind, str(path), "failed", None, f"content looks like {found_kind}, not {kind}"
        )
    chosen = kind or found_kind
    if chosen is None:
        status = "skipped" if in_folder else "failed"
        return Outcome(None, str(path), status, None, "not a recognised reference file")
    problem = check_complete(path)
    if problem:
        return Outcome(chosen, str(path), "failed", None, problem)
    if chosen == "tags":
        tag = tag or tag_in_name(path.name)
        if tag is None:
            return Outcome(
                chosen,
                str(path),
                "failed",
                None,
                "a bgp.tools tag list without its tag: name it tags-<tag>.csv or give --tag",
            )
    snapshot = _content_day(path, chosen) or date_in_name(path.name)
    snapshot = snapshot or date_in_name(path.parent.name)
    digest = sha256_of(path)
    for entry in store.entries(chosen):
        if entry.sha256 == digest and store.is_intact(entry) and _binary_present(store, entry):
            return Outcome(
                chosen, str(path), "present", store.root / entry.path, "already in the store"
            )
    try:
        prepared = prepare(path, chosen, found.format if found else None, day=snapshot, tag=tag)
    except UnusableFileError as exc:
        return Outcome(chosen, str(path), "failed", None, f"cannot be used: {exc}")
    snapshot = snapshot or prepared.day or day
    message = ""
    if snapshot is None:
        snapshot = clock.now().date()
        message = f"no date in content or name; dated {snapshot} (the import), --date sets one"
    if chosen == "rdap-bootstrap":  # RdapBootstrap.load reads ipv4.json ... from one folder
        filename = path.name
    elif chosen == "tags":
        filename = dated_name(f"tags-{tag}.csv", snapshot)
    else:
        filename = dated_name(path.name, snapshot)
    target = store.place(path, chosen, filename, link=link)
    binary = _save_binary(store, target, prepared)
    store.record(
        ManifestEntry(
            kind=chosen,
            path=store.relative(target),
            sha256=digest,
            size=target.stat().st_size,
            snapshot=snapshot.isoformat(),
            source=str(path.resolve()),
            method="link" if link else "copy",
            added_at=now_text(clock.now()),
            name=path.name,
            format=found.format if found else None,
            rows=prepared.rows,
            series=prepared.series,
            binary=binary,
        )
    )
    return Outcome(chosen, str(path), "imported", target, message)


def _save_binary(store: ReferenceStore, target: Path, prepared: Prepared) -> str | None:
    """Store a routing table's binary form beside its source; its path relative to the store."""
    if prepared.table is None:
        return None
    saved = prepared.table.save(target.with_name(target.name + ".npz"))
    return store.relative(saved)


def _binary_present(store: ReferenceStore, entry: ManifestEntry) -> bool:
    if entry.kind not in ROUTING_KINDS:
        return True
    return entry.binary is not None and (store.root / entry.binary).is_file()


def _last_from(store: ReferenceStore, url: str) -> ManifestEntry | None:
    entries = [e for e in store.entries() if e.source == url]
    return max(entries, key=lambda e: e.added_at, default=None)


def _kind_problem(path: Path, kind: str) -> str | None:
    found = detect_kind(path)
    expected = {"ris": {"ris", "rib"}, "rib": {"rib", "ris"}}.get(kind, {kind})
    if found not in expected:
        return f"content is {found or 'not recognised'}, expected {kind}"
    return None


def _content_day(path: Path, kind: str) -> date | None:
    if kind == "delegated":
        return delegated_day(path)
    if kind == "rdap-bootstrap":
        return publication_day(path)
    return None
