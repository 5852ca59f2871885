"""The `org360` command."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from core.catalogue import CATALOGUE, OBJECTS
from core.errors import ConfigError
from core.settings import DEFAULT_CONFIG_PATH

EXIT_USAGE = 2
EXIT_FAILED = 1


def _service_logging() -> None:
    from core.logs import configure

    configure()


def _progress_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    for name in ("org360.progress", "pipelines"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False
    if not verbose:
        logging.getLogger("dagster").setLevel(logging.ERROR)


def _config_arg(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument(
        "--config",
        default=default,
        help=f"config file (default: $ORG360_CONFIG, else ./{DEFAULT_CONFIG_PATH})",
    )


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config or os.environ.get("ORG360_CONFIG") or DEFAULT_CONFIG_PATH)


# ---------------------------------------------------------------- commands


def cmd_run(args: argparse.Namespace) -> int:
    from core.database import redact
    from pipelines.runner import run_all

    _progress_logging(args.verbose)
    path = _config_path(args)
    print(f"org360 run: config {path}", file=sys.stderr)
    summary = run_all(path, full=args.full)
    print(
        f"org360 run: done in {summary.seconds:.1f}s on {redact(summary.database_url)}",
        file=sys.stderr,
    )
    _print_quarantine(summary.quarantined)
    return 0


def _print_quarantine(quarantined: dict[tuple[str, str, str], int]) -> None:
    if not quarantined:
        return
    print(
        f"org360 run: {sum(quarantined.values())} source records quarantined, "
        "published in golden.rejected_record (`org360 review rejected` says what to fix):",
        file=sys.stderr,
    )
    for (obj, org, reason), count in quarantined.items():
        print(f"  {org:<12} {obj:<8} {reason:<16} {count:>7}", file=sys.stderr)


def cmd_demo(args: argparse.Namespace) -> int:
    from core.database import redact, resolve_database_url
    from demo.generator import DemoGenerator
    from demo.seed import (
        seed,
    )
    from warehouse.engines import engine_for

    _progress_logging(args.verbose)
    started = time.perf_counter()
    url = resolve_database_url()
    print(f"org360 demo: database {redact(url)}")
    engine = engine_for(url)
    data = DemoGenerator(companies=args.companies, seed=args.seed).generate()
    counts = seed(engine, data)
    print(
        f"org360 demo: seeded {data.record_count} Heroku Connect rows into "
        f"{len(counts) // 2} org schemas ({', '.join(sorted({k.split('.')[0] for k in counts}))})"
    )
    api = None
    if args.api_org:
        from demo.api_org import serve_through_api
        from demo.seed import DEMO_ORGS

        api = serve_through_api(engine, next(o for o in DEMO_ORGS if o["key"] == args.api_org))
        print(
            f"org360 demo: org {args.api_org} moved into a Salesforce stand-in at "
            f"{api.server.url} ({api.records} records); org360 reads it through the API"
        )
    try:
        return _demo_run(args, engine, url, started, api.config if api else None)
    finally:
        if api is not None:
            api.stop()


def _demo_run(args, engine, url: str, started: float, api_config: dict | None) -> int:
    from core.database import make_engine
    from core.embedded_postgres import home_dir
    from core.settings import load_settings
    from demo.opportunities import rates_csv
    from demo.seed import (
        evaluate,
        evaluate_deals,
        evaluate_leads,
        evaluate_queue,
        write_demo_config,
    )
    from pipelines.runner import run_all
    from warehouse.currency import load_rates_file

    config = write_demo_config(
        Path(args.config) if args.config else home_dir() / "demo.yaml",
        replaced={args.api_org: api_config} if api_config else None,
    )
    print(f"org360 demo: config {config}")
    # apac syncs no rate tables: its rates come from a file, as a user would load them.
    rates = config.with_name("demo_rates.csv")
    rates.write_text(rates_csv(), encoding="utf-8")
    load_rates_file(engine, rates, load_settings(config))
    print(f"org360 demo: rates for apac loaded from {rates}")
    print("org360 demo: running the pipeline (staging per org, unified, resolve, golden, publish)")
    summary = run_all(config)
    _print_quarantine(summary.quarantined)
    quality = evaluate(make_engine(url))
    with engine.connect() as conn:
        from sqlalchemy import text

        published = {
            table: conn.execute(text(f"SELECT count(*) FROM golden.{table}")).scalar_one()
            for table in (
                *OBJECTS,
                "xref",
                "duplicate_review",
                "rejected_record",
                "account_summary",
                "pipeline_by_month",
            )
        }
    print()
    print("Published in schema golden:")
    for table, rows in published.items():
        print(f"  golden.{table:<17} {rows:>7} rows")
    print()
    print("Quality of golden.xref against the demo's truth (pairwise):")
    queued = evaluate_queue(make_engine(url))
    for obj, q in quality.items():
        print(f"  {obj + 's':<9} {q.line()}")
        print(f"  {'':<9} {queued[obj].line()}")
    print(f"  {'deals':<9} {evaluate_deals(make_engine(url)).line()}")
    for kind, quality in evaluate_leads(make_engine(url)).items():
        print(f"  {'leads':<9} to a {kind + ':':<9} {quality.line()}")
    _print_pipeline(engine, load_settings(config).reporting_currency)
    print()
    print(
        f"Done in {time.perf_counter() - started:.1f}s (pipeline {summary.seconds:.1f}s). "
        "Next: `org360 ui` to browse the assets, or query golden.* with psql "
        "(`org360 db url` prints the URL)."
    )
    return 0


def _print_pipeline(engine, currency: str) -> None:
    """The five golden accounts with the most open pipeline across orgs."""
    from sqlalchemy import text

    with engine.connect() as conn:
        top = conn.execute(
            text(
                "SELECT a.name, string_agg(DISTINCT o.org, ',' ORDER BY o.org) AS orgs, "
                "count(*) AS deals, sum(o.amount_reporting) AS pipeline "
                "FROM golden.opportunity o JOIN golden.account a "
                "ON a.golden_id = o.golden_account_id WHERE NOT o.is_closed "
                "GROUP BY a.golden_id, a.name "
                "ORDER BY sum(o.amount_reporting) DESC NULLS LAST, a.golden_id LIMIT 5"
            )
        ).all()
    if not top:
        return
    print()
    print(f"Open pipeline across orgs, top five golden accounts ({currency}):")
    for name, orgs, deals, pipeline in top:
        print(f"  {name[:40]:<40} {orgs:<15} {deals:>3} deals {pipeline or 0:>14,.0f}")


def cmd_ui(args: argparse.Namespace) -> int:
    from core.processes import run_child
    from pipelines.instance import process_environment

    path = _config_path(args).resolve()
    if not path.exists():
        print(
            f"org360 ui: no config at {path}; runs will fail until you create it", file=sys.stderr
        )
    env = process_environment(path)
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "pipelines.definitions",
        "--host",
        args.host,
        "--port",
        str(args.port),
    ]
    print(f"org360 ui: Dagster UI on http://{args.host}:{args.port} (Ctrl-C to stop)")
    # `dagster dev` shuts its webserver, daemon and code servers down on SIGINT and
    # ignores SIGTERM: a SIGTERM to org360 ui becomes a SIGINT to all of them.
    return run_child(command, env, stop_signal=signal.SIGINT)


def cmd_daemon(args: argparse.Namespace) -> int:
    from pipelines.daemon import run_daemon

    _service_logging()
    return run_daemon(_config_path(args).resolve())


def cmd_db(args: argparse.Namespace) -> int:
    from core import embedded_postgres
    from core.database import resolve_database_url

    if args.action == "url":
        print(resolve_database_url(_configured_url(args)))
    elif args.action == "start":
        print(embedded_postgres.start())
    elif args.action == "stop":
        stopped = embedded_postgres.stop()
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    elif args.action == "dagster-url":
        # For running `dagster dev -w workspace.yaml` (or a deployment) yourself:
        # export ORG360_DAGSTER_STORAGE_URL="$(org360 db dagster-url)".
        from pipelines.instance import create_schema

        print(create_schema(resolve_database_url(_configured_url(args))))
    elif args.action == "migrate":
        from core.database import make_engine
        from warehouse.tables import migrate

        applied = migrate(make_engine(resolve_database_url(_configured_url(args))))
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


def _configured_url(args: argparse.Namespace) -> str | None:
    from core.settings import load_settings

    path = _config_path(args)
    return load_settings(path).database_url if path.exists() else None


def cmd_users(args: argparse.Namespace) -> int:
    import getpass

    from core.database import make_engine, resolve_database_url
    from steward_app import users

    engine = make_engine(resolve_database_url(_configured_url(args)))
    try:
        if args.action == "list":
            found = users.list_users(engine)
            for user in found:
                print(f"{user.email:<40} {user.role:<8} added {user.created_at:%Y-%m-%d}")
            if not found:
                print("no users yet: org360 users add EMAIL --role admin")
        elif args.action == "remove":
            users.remove_user(engine, args.email)
            print(f"removed {args.email}")
        else:
            if sys.stdin.isatty():
                password = getpass.getpass("Password (empty: generate one): ")
            else:
                password = sys.stdin.readline().rstrip("\n")
            generated = not password
            if generated:
                password = users.generate_password()
            user = users.add_user(engine, args.email, args.role, password)
            print(f"{user.email} can sign in at /app/ as {user.role}")
            if generated:
                # Shown this once: only its hash is kept.
                print(f"password: {password}")
    finally:
        engine.dispose()
    return 0


def cmd_odata(args: argparse.Namespace) -> int:
    from odata_service.cli import serve

    serve(args.host, args.port, _configured_url(args), workers=args.workers)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from app.web import serve

    serve(args.host, args.port, str(_config_path(args)))
    return 0


def cmd_archive(args: argparse.Namespace) -> int:
    from archive_service import cli as archive_cli

    config = str(_config_path(args))
    if args.action == "serve":
        archive_cli.serve(args.host, args.port, config)
    else:
        archive_cli.worker(config, concurrency=args.concurrency)
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from core.database import resolve_database_url
    from warehouse.engines import engine_for
    from warehouse.steward import Decision, parse_record, record_decision, review_pair

    engine = engine_for(resolve_database_url(_configured_url(args)))
    if args.action == "list":
        return _review_list(engine, args)
    if args.action == "rejected":
        return _review_rejected(engine, args)
    if args.review_id:
        if args.a or args.b or args.object:
            raise ConfigError("give either --review-id, or --object with --a and --b")
        obj, org_a, sfid_a, org_b, sfid_b = review_pair(engine, args.review_id)
    else:
        if not (args.object and args.a and args.b):
            raise ConfigError("give --review-id, or --object with --a ORG/SFID and --b ORG/SFID")
        obj = args.object
        org_a, sfid_a = parse_record(args.a, "--a")
        org_b, sfid_b = parse_record(args.b, "--b")
    stored = record_decision(
        engine,
        Decision(obj, org_a, sfid_a, org_b, sfid_b, args.decision, args.by, args.note),
    )
    print(
        f"recorded: {stored.object} {stored.org_a}/{stored.sfid_a} and "
        f"{stored.org_b}/{stored.sfid_b}: {stored.decision} (by {stored.decided_by}); "
        "the next run honours it"
    )
    return 0


def _resolved() -> list[str]:
    """The objects whose duplicates are looked for (those with a match model)."""
    return [obj for obj, spec in CATALOGUE.items() if spec.resolved]


def cmd_rates(args: argparse.Namespace) -> int:
    from core.database import resolve_database_url
    from core.settings import load_settings
    from warehouse.currency import load_rates_file
    from warehouse.engines import engine_for

    settings = load_settings(_config_path(args))
    engine = engine_for(resolve_database_url(settings.database_url))
    loaded = load_rates_file(engine, Path(args.file), settings)
    for org, count in sorted(loaded.items()):
        print(f"org {org}: {count} rates loaded (replacing the ones an earlier file gave it)")
    print("The next `org360 run` converts these orgs' opportunities at the new rates.")
    return 0


def _api_org(settings, key: str):
    org = settings.org(key)
    if not org.through_api:
        raise ConfigError(
            f"{settings.source}: org {key!r} is read from its Heroku Connect schema; "
            "`org360 salesforce` works on orgs with source: salesforce"
        )
    return org


def cmd_salesforce_describe(args: argparse.Namespace) -> int:
    from core.settings import load_settings
    from salesforce_api.connection import OrgConnection
    from salesforce_api.describe import describe_org, render

    org = _api_org(load_settings(_config_path(args)), args.org)
    print(render(org.key, describe_org(OrgConnection(org))))
    return 0


def cmd_writeback(args: argparse.Namespace) -> int:
    from core.database import resolve_database_url
    from core.settings import load_settings
    from salesforce_api.connection import OrgConnection
    from salesforce_api.writeback import write_back
    from warehouse.engines import engine_for

    settings = load_settings(_config_path(args))
    orgs = [settings.org(args.org)] if args.org else list(settings.orgs)
    orgs = [o for o in orgs if o.writeback is not None]
    if not orgs:
        raise ConfigError(
            f"{settings.source}: no org {'' if not args.org else repr(args.org) + ' '}"
            "has a writeback: entry (e.g. writeback: {field: Org360_Golden_Id__c})"
        )
    engine = engine_for(resolve_database_url(settings.database_url))
    for org in orgs:
        connection = OrgConnection(org) if org.through_api else None
        for report in write_back(engine, org, connection, dry_run=args.dry_run):
            print(report.line(dry_run=args.dry_run))
            for sfid, current, golden in report.sample if args.dry_run else ():
                print(f"  {sfid}: {current or '(empty)'} -> {golden}")
            for sfid, error in report.errors:
                print(f"  refused {sfid}: {error}")
    return 0


def cmd_model(args: argparse.Namespace) -> int:
    from core.database import resolve_database_url
    from dedupe.estimate import with_parameters
    from dedupe.report import model_report
    from warehouse.engines import engine_for
    from warehouse.match_model import stored_model
    from warehouse.matchers import match_settings

    engine = engine_for(resolve_database_url(_configured_url(args)))
    for obj in [args.object] if args.object else _resolved():
        stored = stored_model(engine, obj)
        print(f"{obj}:")
        if stored is None:
            print("  not fitted yet: `org360 run` fits it to your records")
            continue
        params, fitted_at = stored
        settings = match_settings(obj)
        print(f"  fitted {fitted_at:%Y-%m-%d %H:%M %Z}")
        fitted = with_parameters(settings, params)
        for line in model_report(settings, fitted, int(params.get("records", 0))):
            print(f"  {line}" if line else "")
        print()
    return 0


def _review_list(engine, args: argparse.Namespace) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT review_id, object, org_a || '/' || sfid_a AS a, label_a, "
                "org_b || '/' || sfid_b AS b, label_b, probability FROM golden.duplicate_review "
                "WHERE (CAST(:obj AS text) IS NULL OR object = :obj) "
                "ORDER BY probability DESC, review_id LIMIT :limit"
            ),
            {"obj": args.object, "limit": args.limit},
        ).all()
    for row in rows:
        print(
            f"{row.review_id}  {row.object:<7} {row.probability:6.3f}  "
            f"{row.a} {row.label_a!r}  ~  {row.b} {row.label_b!r}"
        )
    if not rows:
        print("the review queue is empty")
    return 0


def _review_rejected(engine, args: argparse.Namespace) -> int:
    from warehouse.quarantine import REASONS, published_counts, published_rejections

    counts = published_counts(engine)
    shown = {
        key: n
        for key, n in counts.items()
        if (args.object is None or key[0] == args.object)
        and (args.org is None or key[1] == args.org)
        and (args.reason is None or key[2] == args.reason)
    }
    if not shown:
        print("no quarantined records" + ("" if not counts else " match these filters"))
        return 0
    records = published_rejections(engine, args.limit, args.object, args.org, args.reason)
    total = sum(shown.values())
    print(f"{total} source records quarantined (left out of golden.xref until fixed):")
    for (obj, org, reason), count in shown.items():
        what = REASONS.get(reason)
        print()
        print(f"org {org}, {obj}, {reason}: {count} records")
        if what:
            print(f"  why: {what.means}")
            print(f"  fix: {what.fix}")
        for record in records.get((obj, org, reason), []):
            print(
                f"  {org}/{record.sfid}  {record.detail}  "
                f"(since {record.first_seen:%Y-%m-%d %H:%M})"
            )
        if count > args.limit:
            print(f"  ... and {count - args.limit} more (--limit N shows more)")
    return 0


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="org360",
        description=(
            "One trustworthy 360° view across Salesforce orgs replicated by Heroku Connect."
        ),
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show Dagster's own logs")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="seed three demo orgs and run the whole pipeline")
    demo.add_argument(
        "--api-org",
        nargs="?",
        const="emea",
        choices=["amer", "emea", "apac"],
        help="read this demo org (default emea) through the Salesforce API, served by "
        "org360's Salesforce stand-in, instead of its Heroku Connect schema",
    )
    demo.add_argument("--companies", type=int, default=400, help="demo companies (default 400)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument("--config", help="where to write the demo config (default .org360/demo.yaml)")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="materialise every asset in this process")
    _config_arg(run)
    run.add_argument(
        "--full",
        action="store_true",
        help="resolve every record again (rescore every pair, rebuild every golden record) "
        "rather than only what changed since the last run",
    )
    run.set_defaults(func=cmd_run)

    ui = sub.add_parser("ui", help="open the Dagster UI (webserver and daemon)")
    _config_arg(ui)
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    daemon = sub.add_parser(
        "daemon",
        help="run the Dagster daemon (schedules, sensors, run queue): one per deployment",
    )
    _config_arg(daemon)
    daemon.set_defaults(func=cmd_daemon)

    db = sub.add_parser(
        "db", help="the database: url, dagster-url (Dagster's storage), start, stop, migrate"
    )
    db.add_argument("action", choices=["url", "dagster-url", "start", "stop", "migrate"])
    _config_arg(db)
    db.set_defaults(func=cmd_db)

    model = sub.add_parser(
        "model", help="what matching learnt from your records: prior, rule strength, m and u"
    )
    model.add_argument("--object", choices=_resolved())
    _config_arg(model)
    model.set_defaults(func=cmd_model)

    rates = sub.add_parser("rates", help="currency rates for orgs that sync no rate tables")
    rates_sub = rates.add_subparsers(dest="action", required=True)
    rates_load = rates_sub.add_parser(
        "load",
        help="load rates from a CSV file (org,isocode,conversionrate"
        "[,startdate,nextstartdate][,iscorporate])",
    )
    rates_load.add_argument("file")
    _config_arg(rates_load)
    rates_load.set_defaults(func=cmd_rates)

    salesforce = sub.add_parser(
        "salesforce", help="orgs read through the Salesforce API (source: salesforce)"
    )
    salesforce_sub = salesforce.add_subparsers(dest="action", required=True)
    sf_describe = salesforce_sub.add_parser(
        "describe",
        help="list an org's fields and suggest a fields: and stages: block for org360.yaml",
    )
    sf_describe.add_argument("--org", required=True, help="the org's key in the config")
    _config_arg(sf_describe)
    sf_describe.set_defaults(func=cmd_salesforce_describe)

    writeback = sub.add_parser(
        "writeback",
        help="write each record's golden id to the field orgs name in writeback: "
        "(changed ids only)",
    )
    writeback.add_argument("--org", help="only this org (default: every org with writeback:)")
    writeback.add_argument(
        "--dry-run", action="store_true", help="say what would be written; write nothing"
    )
    _config_arg(writeback)
    writeback.set_defaults(func=cmd_writeback)

    review = sub.add_parser("review", help="the duplicate review queue and steward decisions")
    review_sub = review.add_subparsers(dest="action", required=True)
    listing = review_sub.add_parser("list", help="pairs waiting for a decision, likeliest first")
    listing.add_argument("--object", choices=list(OBJECTS))
    listing.add_argument("--limit", type=int, default=20)
    _config_arg(listing)
    listing.set_defaults(func=cmd_review)
    rejected = review_sub.add_parser(
        "rejected",
        help="quarantined source records, by org and reason, with the fix to make",
    )
    rejected.add_argument("--object", choices=list(OBJECTS))
    rejected.add_argument("--org", help="one org's key")
    rejected.add_argument("--reason", help="one reason code, e.g. no_name")
    rejected.add_argument("--limit", type=int, default=10, help="records shown per group")
    _config_arg(rejected)
    rejected.set_defaults(func=cmd_review)
    decide = review_sub.add_parser(
        "decide", help="record a steward decision (must-link or cannot-link) for a pair"
    )
    decide.add_argument("decision", choices=["match", "no_match"])
    decide.add_argument("--review-id", help="a pair from `org360 review list`")
    decide.add_argument("--object", choices=list(OBJECTS))
    decide.add_argument("--a", help="first record as ORG/SFID")
    decide.add_argument("--b", help="second record as ORG/SFID")
    decide.add_argument("--by", required=True, help="who decides (kept with the decision)")
    decide.add_argument("--note", help="why, for the next steward")
    _config_arg(decide)
    decide.set_defaults(func=cmd_review)

    people = sub.add_parser("users", help="who may sign in to the web app (/app/), and as what")
    people_sub = people.add_subparsers(dest="action", required=True)
    add = people_sub.add_parser(
        "add",
        help="add a user or change one's role and password (read from standard input, "
        "or generated and printed once when none is given)",
    )
    add.add_argument("email")
    add.add_argument("--role", required=True, choices=["viewer", "steward", "admin"])
    _config_arg(add)
    remove = people_sub.add_parser("remove", help="remove a user (and end their sessions)")
    remove.add_argument("email")
    _config_arg(remove)
    listing_users = people_sub.add_parser("list", help="the users and their roles")
    _config_arg(listing_users)
    for parser_ in (add, remove, listing_users):
        parser_.set_defaults(func=cmd_users)

    odata = sub.add_parser("odata", help="the OData v4 service for Salesforce Connect")
    odata_sub = odata.add_subparsers(dest="action", required=True)
    serve = odata_sub.add_parser("serve", help="serve golden and archived records over OData")
    serve.add_argument("--host", default=None, help="default 127.0.0.1")
    serve.add_argument("--port", type=int, default=None, help="default $PORT, else 8360")
    serve.add_argument(
        "--workers",
        type=int,
        default=None,
        help="server processes (default $WEB_CONCURRENCY, else one per CPU)",
    )
    _config_arg(serve)
    serve.set_defaults(func=cmd_odata)

    web = sub.add_parser(
        "serve", help="serve the OData service (/odata/) and the archive API (/api/v1/) together"
    )
    web.add_argument("--host", default=None, help="default 127.0.0.1, 0.0.0.0 when $PORT is set")
    web.add_argument("--port", type=int, default=None, help="default $PORT, else 8360")
    _config_arg(web)
    web.set_defaults(func=cmd_serve)

    archive = sub.add_parser("archive", help="the archive API and its workers")
    archive_sub = archive.add_subparsers(dest="action", required=True)
    a_serve = archive_sub.add_parser("serve", help="serve the archive API")
    a_serve.add_argument("--host", default=None)
    a_serve.add_argument("--port", type=int, default=None, help="default $PORT")
    _config_arg(a_serve)
    a_serve.set_defaults(func=cmd_archive)
    a_worker = archive_sub.add_parser("worker", help="run an archive worker")
    a_worker.add_argument("--concurrency", type=int, default=1)
    _config_arg(a_worker)
    a_worker.set_defaults(func=cmd_archive)
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipelines.runner import RunFailed
    from salesforce_api.connection import SalesforceSourceError
    from service_auth import AuthConfigError

    args = build_parser().parse_args(argv)
    try:
        from core.embedded_postgres import home_dir
        from core.settings import config_from_environment

        config_from_environment(home_dir())
        return args.func(args)
    except (ConfigError, AuthConfigError) as exc:
        print(f"org360: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunFailed as exc:
        print(f"org360: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except SalesforceSourceError as exc:
        print(f"org360: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
