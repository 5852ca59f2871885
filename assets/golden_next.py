"""The next publication, built beside the published one, and the checks that gate it.

Blocking checks guard what org360 itself guarantees (every live record in the xref or
the quarantine, exactly once; every golden id with members and a name; links that
resolve): if one fails, `golden.*` is not touched and readers keep the previous
publication. What an org contains can only raise a warning.
"""

import dagster as dg

from assets.resources import Org360Resource, progress
from core.catalogue import CATALOGUE, OBJECTS, ObjectSpec
from warehouse import checks
from warehouse.computed import computed_from
from warehouse.golden import build_xref
from warehouse.quarantine import build_rejected_records
from warehouse.reports import REPORTS, build_reports
from warehouse.review_queue import build_review_queue, resolved_objects, reviewed_by_rule
from warehouse.survivorship import Built, build_golden

_EAGER = dg.AutomationCondition.eager()


@dg.asset(
    key=["golden_next", "xref"],
    deps=[dg.AssetKey(["resolve", f"{obj}_cluster"]) for obj in OBJECTS],
    group_name="golden_next",
    kinds={"postgres"},
    automation_condition=_EAGER,
    description="Next cross-reference: each live source record's golden id (stable ids).",
)
def golden_next_xref(org360: Org360Resource) -> dg.MaterializeResult:
    report = build_xref(org360.engine(), org360.settings())
    progress.info(
        "golden_next.xref: %s%s records -> %s golden; ids kept %s, new %s",
        "changed entities' " if report.incremental else "",
        report.records,
        report.golden,
        report.kept_ids,
        report.new_ids,
    )
    counts: dict[str, object] = {
        f"golden_{CATALOGUE[obj].plural_name}": report.golden.get(obj, 0) for obj in OBJECTS
    }
    if report.incremental:
        # Only the records of changed golden records were rewritten: count those.
        counts = {
            "records_rewritten": sum(report.records.values()),
            **{
                f"golden_{CATALOGUE[obj].plural_name}_rebuilt": report.golden.get(obj, 0)
                for obj in OBJECTS
            },
        }
    else:
        counts["dagster/row_count"] = sum(report.records.values())
    return dg.MaterializeResult(
        metadata={
            "incremental": report.incremental,
            **counts,
            "ids_kept": dg.MetadataValue.json(report.kept_ids),
            "ids_new": dg.MetadataValue.json(report.new_ids),
        }
    )


def _golden_asset(spec: ObjectSpec) -> dg.AssetsDefinition:
    obj = spec.name
    parents = dict.fromkeys(spec.parents.values())

    @dg.asset(
        key=["golden_next", obj],
        deps=[
            golden_next_xref,
            dg.AssetKey(["unified", obj]),
            # A golden record links to its parents' golden records.
            *(dg.AssetKey(["golden_next", parent]) for parent in parents),
            # What its computed columns are made from (the orgs' currency rates).
            *(dg.AssetKey(list(key)) for key in computed_from(obj)),
        ],
        group_name="golden_next",
        kinds={"postgres"},
        automation_condition=_EAGER,
        description=f"Next {spec.description[0].lower()}{spec.description[1:]} Values "
        "chosen by survivorship, with field provenance.",
    )
    def _asset(org360: Org360Resource) -> dg.MaterializeResult:
        return _built(obj, build_golden(org360.engine(), org360.settings(), obj))

    return _asset


# One per object of the catalogue.
golden_assets = [_golden_asset(spec) for spec in CATALOGUE.values()]


def _built(obj: str, built: Built) -> dg.MaterializeResult:
    plural = CATALOGUE[obj].plural_name
    # What the computed columns could not be given (a missing rate): heard, not fatal.
    extra: dict[str, object] = {}
    if built.computed is not None:
        for line in built.computed.lines():
            progress.warning("golden_next.%s: %s", obj, line)
        extra = {
            key: value if isinstance(value, int) else dg.MetadataValue.json(value)
            for key, value in built.computed.metadata().items()
        }
    if built.incremental:
        progress.info("golden_next.%s: %d changed golden %s rebuilt", obj, built.rows, plural)
        return dg.MaterializeResult(metadata={"incremental": True, "rebuilt": built.rows, **extra})
    progress.info("golden_next.%s: %d golden %s", obj, built.rows, plural)
    return dg.MaterializeResult(
        metadata={"incremental": False, "dagster/row_count": built.rows, **extra}
    )


@dg.multi_asset(
    name="golden_next_reports",
    specs=[
        dg.AssetSpec(
            ["golden_next", "account_summary"],
            deps=[
                dg.AssetKey(["golden_next", "opportunity"]),
                dg.AssetKey(["golden_next", "lead"]),
                dg.AssetKey(["golden_next", "account"]),
            ],
            group_name="golden_next",
            kinds={"postgres"},
            automation_condition=_EAGER,
            description="Next account summaries: each golden account's open, weighted, won "
            "and lost pipeline across orgs, in the reporting currency, and its open leads.",
        ),
        dg.AssetSpec(
            ["golden_next", "pipeline_by_month"],
            deps=[dg.AssetKey(["golden_next", "opportunity"])],
            group_name="golden_next",
            kinds={"postgres"},
            automation_condition=_EAGER,
            description="Next pipeline by golden account, org, funnel stage and close month.",
        ),
    ],
)
def golden_next_reports(org360: Org360Resource):
    rows = build_reports(org360.engine(), org360.settings())
    for table in REPORTS:
        count = getattr(rows, table)
        if rows.incremental:
            progress.info("golden_next.%s: %d rows of changed accounts rebuilt", table, count)
            metadata = {"incremental": True, "rebuilt": count}
        else:
            progress.info("golden_next.%s: %d rows", table, count)
            metadata = {"incremental": False, "dagster/row_count": count}
        yield dg.MaterializeResult(asset_key=["golden_next", table], metadata=metadata)


@dg.asset(
    key=["golden_next", "duplicate_review"],
    deps=[
        golden_next_xref,
        *(dg.AssetKey(["resolve", f"{obj}_pair"]) for obj in resolved_objects()),
        # A review rule's pairs (deals entered twice) are found among golden records.
        *(dg.AssetKey(["golden_next", obj]) for obj in reviewed_by_rule()),
    ],
    group_name="golden_next",
    kinds={"postgres"},
    automation_condition=_EAGER,
    description="Next review queue: likely duplicates the matcher would not merge on its own.",
)
def golden_next_duplicate_review(org360: Org360Resource) -> dg.MaterializeResult:
    counts, incremental = build_review_queue(org360.engine())
    progress.info(
        "golden_next.duplicate_review: %s pairs for review%s",
        counts,
        " (of changed golden records)" if incremental else "",
    )
    metadata: dict[str, object] = {
        "incremental": incremental,
        **{f"{obj}_pairs": counts.get(obj, 0) for obj in resolved_objects()},
    }
    if not incremental:
        metadata["dagster/row_count"] = sum(counts.values())
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=["golden_next", "rejected_record"],
    deps=[golden_next_xref, *(dg.AssetKey(["unified", obj]) for obj in OBJECTS)],
    group_name="golden_next",
    kinds={"postgres"},
    automation_condition=_EAGER,
    description=(
        "Next quarantine: live source records left out of resolution, with a reason "
        "(each live record is in this table or in the xref, never both)."
    ),
)
def golden_next_rejected_record(org360: Org360Resource) -> dg.MaterializeResult:
    counts = build_rejected_records(org360.engine())
    total = sum(n for reasons in counts.values() for n in reasons.values())
    if total:
        progress.info(
            "golden_next.rejected_record: %d source records quarantined (%s); "
            "`org360 review rejected` lists them",
            total,
            "; ".join(
                f"{obj} " + ", ".join(f"{reason} {n}" for reason, n in reasons.items())
                for obj, reasons in counts.items()
            ),
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": total,
            **{
                f"{obj}_{reason}": n
                for obj, reasons in counts.items()
                for reason, n in reasons.items()
            },
        }
    )


def _result(
    count: int,
    sample: list[str],
    what: str,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=count == 0,
        severity=severity,
        description=None if count == 0 else f"{count} {what}",
        metadata={"offenders": count, "sample": dg.MetadataValue.json(sample)},
    )


@dg.asset_check(asset=golden_next_xref, blocking=True)
def xref_has_every_live_record_once(org360: Org360Resource) -> dg.AssetCheckResult:
    """Every live source record appears in the xref exactly once (the key makes 'once')."""
    engine = org360.engine()
    missing, missing_sample = checks.xref_missing_records(engine)
    orphans, orphan_sample = checks.xref_orphans(engine, missing)
    return _result(
        missing + orphans,
        missing_sample + orphan_sample,
        f"records wrong in xref ({missing} missing, {orphans} not live)",
    )


@dg.asset_check(asset=golden_next_rejected_record, blocking=True)
def rejected_records_are_not_in_xref(org360: Org360Resource) -> dg.AssetCheckResult:
    count, sample = checks.rejected_records_in_xref(org360.engine())
    return _result(count, sample, "quarantined records that also have a golden id")


@dg.asset_check(
    asset=dg.AssetKey(["golden_next", "account_summary"]),
    blocking=True,
    description="Every account summary is of a golden account, and sums what its "
    "opportunities hold.",
)
def account_summaries_add_up(org360: Org360Resource) -> dg.AssetCheckResult:
    count, sample = checks.account_summaries_wrong(org360.engine())
    return _result(count, sample, "account summaries not of a golden account or not adding up")


def _object_checks(spec: ObjectSpec, golden: dg.AssetsDefinition) -> list:
    """The checks on one object's next golden records: blocking for what org360
    guarantees (members, a name, links that resolve), a warning for what its orgs hold
    (names that had to be stood in for)."""
    obj, plural = spec.name, spec.plural_name

    @dg.asset_check(asset=golden, name=f"golden_{plural}_have_members", blocking=True)
    def have_members(org360: Org360Resource) -> dg.AssetCheckResult:
        engine = org360.engine()
        empty, sample = checks.golden_without_members(engine, obj)
        unbuilt, sample2 = checks.members_without_golden(engine, obj)
        return _result(empty + unbuilt, sample + sample2, f"golden {obj} ids without members")

    @dg.asset_check(
        asset=golden,
        name=f"golden_{plural}_have_names",
        blocking=True,
        description=f"Every golden {obj} has a name to show, its members' or a stand-in.",
    )
    def have_names(org360: Org360Resource) -> dg.AssetCheckResult:
        count, sample = checks.golden_without_name(org360.engine(), obj)
        return _result(count, sample, f"golden {plural} without a name")

    stand_ins = ", ".join(spec.label_fallbacks) or "nothing else"

    @dg.asset_check(
        asset=golden,
        name=f"golden_{plural}_have_source_names",
        blocking=False,
        description="A warning, not a block: what an org holds cannot stop a publication.",
    )
    def have_source_names(org360: Org360Resource) -> dg.AssetCheckResult:
        count, sample = checks.golden_named_by_stand_in(org360.engine(), obj)
        return _result(
            count,
            sample,
            f"golden {plural} whose members have no {' or '.join(spec.label)} (shown by "
            f"{stand_ins} or org/sfid)",
            dg.AssetCheckSeverity.WARN,
        )

    def link_check(parent: str):
        @dg.asset_check(asset=golden, name=f"{obj}_{parent}_golden_id_exists", blocking=True)
        def links_resolve(org360: Org360Resource) -> dg.AssetCheckResult:
            count, sample = checks.parent_links_missing(org360.engine(), obj, parent)
            return _result(count, sample, f"golden {plural} pointing at a missing golden {parent}")

        return links_resolve

    links = [link_check(parent) for parent in dict.fromkeys(spec.parents.values())]
    return [have_members, have_names, have_source_names, *links]


CHECKS = [
    xref_has_every_live_record_once,
    rejected_records_are_not_in_xref,
    account_summaries_add_up,
    *(
        check
        for spec, golden in zip(CATALOGUE.values(), golden_assets, strict=True)
        for check in _object_checks(spec, golden)
    ),
]
