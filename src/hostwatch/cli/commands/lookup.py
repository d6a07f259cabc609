"""``hostwatch lookup``: prefix and origin AS for addresses, as CSV.

One lookup of one address is a whole process, and issue 14 holds it to what pyasn costs in its own
process. Typer coerces every parameter through pydantic (its import alone costs about a third of
pyasn's whole lookup) and the settings model is pydantic too, so the plain invocations start
through :func:`quick_start` instead: ``hostwatch lookup`` followed only by ``--table/-t NAME``
(``--table=NAME``), ``--details``/``--no-details``, ``--verbose``/``-v`` and at most one file
(or ``-``). Everything else (``--help``, a global option before ``lookup``, an unknown option, a
missing ``--table``) goes through typer, which explains it. Both run :func:`run_lookup`, so the
output is the same; tests/cli/test_lookup_start.py runs both on the same arguments and compares.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from hostwatch.net.routing.table import RoutingTable

TABLE = ("--table", "-t")
VERBOSE = ("--verbose", "-v")
DETAILS = "--details"
NO_DETAILS = "--no-details"


def lookup(
    table: Annotated[
        list[str],
        typer.Option(
            *TABLE,
            help="Routing table: the name it was imported under (hostwatch data list), or a file "
            "in any supported format. Repeat to combine: each address is answered by the first "
            "table that covers it.",
        ),
    ],
    ips_file: Annotated[
        str, typer.Argument(help="File with one address per line, or '-' for stdin.")
    ] = "-",
    details: Annotated[
        bool,
        typer.Option(
            f"{DETAILS}/{NO_DETAILS}",
            help="Add as_name,provider,country from the catalogued reference data (hostwatch "
            "data import) and the providers in the database.",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option(*VERBOSE, help="List every problem found in the tables.")
    ] = False,
) -> None:
    """Print CSV "ip,prefix,origin_asn[,as_name,provider,country]" per address, in input order."""
    run_lookup(table, ips_file, details=details, verbose=verbose)


def run_lookup(table: list[str], ips_file: str, *, details: bool, verbose: bool) -> None:
    """The command itself, however it was started; exits with status 1 on an unreadable table."""
    from hostwatch.net.fetch.store import ReferenceStore
    from hostwatch.net.routing.issues import summary_line
    from hostwatch.net.routing.lookup_csv import write_lookup_csv
    from hostwatch.net.routing.mapped import open_mapped

    settings = None
    if details:
        from hostwatch.settings import get_settings

        settings = get_settings()
    store = ReferenceStore.under(settings.state_dir if settings else _state_dir())
    tables = []
    for given in table:
        try:
            path = store.routing_table_path(given)
            loaded = open_mapped(path) or _load(path)
        except (OSError, ValueError) as exc:
            _error(f"error: cannot read routing table {given}: {exc}")
            raise SystemExit(1) from exc
        if verbose:
            for issue in loaded.warnings:
                _error(f"warning: {issue}")
        else:
            line = summary_line(given, loaded.warnings)
            if line:
                _error(f"warning: {line}; --verbose lists them")
        tables.append(loaded)
    if ips_file == "-":
        text = sys.stdin.read()
    else:
        text = Path(ips_file).read_text(encoding="utf-8", errors="replace")
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    columns = []
    if settings is not None:
        from hostwatch.attribution.lookup_columns import ReferenceColumns
        from hostwatch.attribution.reference import sync_reference_store
        from hostwatch.model.db import migrate, session_scope

        migrate(settings.database_url)  # files imported since the last run are catalogued first
        with session_scope(settings.database_url) as session:
            sync_reference_store(session, settings.state_dir, loaded_at=settings.clock().now())
        columns.append(ReferenceColumns(settings))
    malformed = write_lookup_csv(sys.stdout, tables, [line for _, line in numbered], columns)
    sys.stdout.flush()
    for position, bad in malformed[:20]:
        _error(f"{ips_file}:{numbered[position][0]}: not an IP address: {bad!r}")
    if len(malformed) > 20:
        _error(f"{len(malformed) - 20} more lines are not IP addresses")


def _load(path: Path) -> RoutingTable:
    from hostwatch.net.routing.table import RoutingTable

    return RoutingTable.load(path)


def _state_dir() -> Path:
    """``state_dir`` without building every setting (pydantic): all a lookup without
    ``--details`` needs. A value that is not text is left to the settings to refuse."""
    from hostwatch.setting_sources import DEFAULT_STATE_DIR, unvalidated

    value = unvalidated("state_dir")
    if value is None:
        return DEFAULT_STATE_DIR
    if isinstance(value, str):
        return Path(value)
    from hostwatch.settings import get_settings

    return get_settings().state_dir


def _error(line: str) -> None:
    print(line, file=sys.stderr)


def quick_start(args: list[str]) -> bool:
    """Run ``hostwatch lookup ARGS`` if ARGS are of the plain kinds; False to leave it to typer.

    As typer's standalone mode does, a closed output pipe ends the process with status 1 and
    Ctrl-C with 130, both without a traceback.
    """
    parsed = _plain_arguments(args)
    if parsed is None or any(k.startswith("_") and k.endswith("_COMPLETE") for k in os.environ):
        return False
    tables, ips_file, details, verbose = parsed
    try:
        run_lookup(tables, ips_file, details=details, verbose=verbose)
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except OSError as exc:
        if exc.errno != errno.EPIPE:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second EPIPE at exit
        raise SystemExit(1) from None
    return True


def _plain_arguments(args: list[str]) -> tuple[list[str], str, bool, bool] | None:
    """``(tables, ips_file, details, verbose)`` if every argument is of a plain kind, else None."""
    tables: list[str] = []
    files: list[str] = []
    details = verbose = False
    rest = iter(args)
    for arg in rest:
        if arg in TABLE:
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
            tables.append(value)
        elif arg.startswith(f"{TABLE[0]}=") and len(arg) > len(TABLE[0]) + 1:
            tables.append(arg[len(TABLE[0]) + 1 :])
        elif arg in VERBOSE:
            verbose = True
        elif arg in (DETAILS, NO_DETAILS):
            details = arg == DETAILS
        elif arg == "-" or not arg.startswith("-"):
            files.append(arg)
        else:
            return None
    if not tables or len(files) > 1:
        return None
    return tables, files[0] if files else "-", details, verbose


def register(app: typer.Typer) -> None:
    app.command("lookup")(lookup)
