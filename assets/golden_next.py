"""The next publication, built beside the published one, and the checks that gate it.

Blocking checks guard what org360 itself guarantees (every live record in the xref or
the quarantine, exactly once; every golden id with members and a name; links that
resolve): if one fails, `golden.*` is not touched and readers keep the previous
publication. What an org contains can only raise a warning.
"""

import dagster as dg

from assets.resources import Org360Resource, progress
from warehouse import checks
from warehouse.golden import (
    Built,
    build_accounts,
    build_contacts,
    build_review_queue,
    build_xref,
)
from warehouse.quarantine import build_rejected_records

_EAGER = dg.AutomationCondition.eager()


@dg.asset(
    key=["golden_next", "xref"],
    deps=[dg.AssetKey(["resolve", "account_cluster"]), dg.AssetKey(["resolve", "contact_cluster"])],
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
    counts = {
        "golden_accounts": report.golden.get("account", 0),
        "golden_contacts": report.golden.get("contact", 0),
    }
    if report.incremental:
        # Only the records of changed golden records were rewritten: count those.
        counts = {
            "records_rewritten": sum(report.records.values()),
            "golden_accounts_rebuilt": counts["golden_accounts"],
            "golden_contacts_rebuilt": counts["golden_contacts"],
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


@dg.asset(
    key=["golden_next", "account"],
    deps=[golden_next_xref, dg.AssetKey(["unified", "account"])],
    group_name="golden_next",
    kinds={"postgres"},
    automation_condition=_EAGER,
    description="Next golden accounts, values chosen by survivorship with field provenance.",
)
def golden_next_account(org360: Org360Resource) -> dg.MaterializeResult:
    return _built("account", build_accounts(org360.engine(), org360.settings()))


@dg.asset(
    key=["golden_next", "contact"],
    deps=[golden_next_xref, golden_next_account, dg.AssetKey(["unified", "contact"])],
    group_name="golden_next",
    kinds={"postgres"},
    automation_condition=_EAGER,
    description="Next golden contacts, linked to their golden account.",
)
def golden_next_contact(org360: Org360Resource) -> dg.MaterializeResult:
    return _built("contact", build_contacts(org360.engine(), org360.settings()))


def _built(obj: str, built: Built) -> dg.MaterializeResult:
    if built.incremental:
        progress.info("golden_next.%s: %d changed golden %ss rebuilt", obj, built.rows, obj)
        return dg.MaterializeResult(metadata={"incremental": True, "rebuilt": built.rows})
    progress.info("golden_next.%s: %d golden %ss", obj, built.rows, obj)
    return dg.MaterializeResult(metadata={"incremental": False, "dagster/row_count": built.rows})


@dg.asset(
    key=["golden_next", "duplicate_review"],
    deps=[
        golden_next_xref,
        dg.AssetKey(["resolve", "account_pair"]),
        dg.AssetKey(["resolve", "contact_pair"]),
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
        "account_pairs": counts.get("account", 0),
        "contact_pairs": counts.get("contact", 0),
    }
    if not incremental:
        metadata["dagster/row_count"] = sum(counts.values())
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    key=["golden_next", "rejected_record"],
    deps=[
        golden_next_xref,
        dg.AssetKey(["unified", "account"]),
        dg.AssetKey(["unified", "contact"]),
    ],
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
    orphans, orphan_sample = checks.xref_orphans(engine)
    return _result(
        missing + orphans,
        missing_sample + orphan_sample,
        f"records wrong in xref ({missing} missing, {orphans} not live)",
    )


@dg.asset_check(asset=golden_next_account, blocking=True)
def golden_accounts_have_members(org360: Org360Resource) -> dg.AssetCheckResult:
    engine = org360.engine()
    empty, sample = checks.golden_without_members(engine, "account")
    unbuilt, sample2 = checks.members_without_golden(engine, "account")
    return _result(empty + unbuilt, sample + sample2, "golden account ids without members")


@dg.asset_check(asset=golden_next_account, blocking=True)
def golden_accounts_have_names(org360: Org360Resource) -> dg.AssetCheckResult:
    """Every golden account has a name to show, its members' or a stand-in."""
    count, sample = checks.golden_without_name(org360.engine(), "account")
    return _result(count, sample, "golden accounts without a name")


@dg.asset_check(asset=golden_next_contact, blocking=True)
def golden_contacts_have_members(org360: Org360Resource) -> dg.AssetCheckResult:
    engine = org360.engine()
    empty, sample = checks.golden_without_members(engine, "contact")
    unbuilt, sample2 = checks.members_without_golden(engine, "contact")
    return _result(empty + unbuilt, sample + sample2, "golden contact ids without members")


@dg.asset_check(asset=golden_next_contact, blocking=True)
def golden_contacts_have_names(org360: Org360Resource) -> dg.AssetCheckResult:
    """Every golden contact has a name to show, its members' or a stand-in."""
    count, sample = checks.golden_without_name(org360.engine(), "contact")
    return _result(count, sample, "golden contacts without a name")


@dg.asset_check(asset=golden_next_account, blocking=False)
def golden_accounts_have_source_names(org360: Org360Resource) -> dg.AssetCheckResult:
    """A warning, not a block: what an org holds cannot stop a publication."""
    count, sample = checks.golden_named_by_stand_in(org360.engine(), "account")
    return _result(
        count,
        sample,
        "golden accounts whose members have no name (shown by domain, registration "
        "number or org/sfid)",
        dg.AssetCheckSeverity.WARN,
    )


@dg.asset_check(asset=golden_next_contact, blocking=False)
def golden_contacts_have_source_names(org360: Org360Resource) -> dg.AssetCheckResult:
    """A warning, not a block: what an org holds cannot stop a publication."""
    count, sample = checks.golden_named_by_stand_in(org360.engine(), "contact")
    return _result(
        count,
        sample,
        "golden contacts whose members have no first or last name (shown by e-mail or org/sfid)",
        dg.AssetCheckSeverity.WARN,
    )


@dg.asset_check(asset=golden_next_rejected_record, blocking=True)
def rejected_records_are_not_in_xref(org360: Org360Resource) -> dg.AssetCheckResult:
    count, sample = checks.rejected_records_in_xref(org360.engine())
    return _result(count, sample, "quarantined records that also have a golden id")


@dg.asset_check(asset=golden_next_contact, blocking=True)
def contact_account_golden_id_exists(org360: Org360Resource) -> dg.AssetCheckResult:
    count, sample = checks.contact_accounts_missing(org360.engine())
    return _result(count, sample, "golden contacts pointing at a missing golden account")


CHECKS = [
    xref_has_every_live_record_once,
    golden_accounts_have_members,
    golden_accounts_have_names,
    golden_contacts_have_members,
    golden_contacts_have_names,
    golden_accounts_have_source_names,
    golden_contacts_have_source_names,
    rejected_records_are_not_in_xref,
    contact_account_golden_id_exists,
]
