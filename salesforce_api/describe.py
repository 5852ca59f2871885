"""`org360 salesforce describe`: an org's fields as its describe() lists them, and a
suggested `fields:` and `stages:` block for org360.yaml.

Suggestions are hints for a person to check: custom fields whose name or label reads
like a company registration number or a person's national id (fields the unified
model has but no standard Salesforce field holds), and the StageName picklist values
to put on the shared funnel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.catalogue import CATALOGUE
from salesforce_api.connection import OrgConnection
from salesforce_api.extract import describe

# Unified fields no standard field holds -> what a custom field for them is called.
_LOOKS_LIKE: dict[tuple[str, str], re.Pattern[str]] = {
    ("account", "registration_number"): re.compile(
        r"regist|reg_?no|reg_?num|company_?(no|num)|crn|duns|siren|siret|kvk|abn|"
        r"vat|tax_?id|handelsregister|chamber",
        re.IGNORECASE,
    ),
    ("contact", "national_id"): re.compile(
        r"national_?id|ssn|social_?security|nino?\b|passport|personnummer|tax_?id|tin\b|"
        r"id_?number|identity",
        re.IGNORECASE,
    ),
}


@dataclass
class Described:
    sobject: str
    fields: list[dict]
    suggested: dict[str, str] = field(default_factory=dict)  # unified field -> column


@dataclass
class OrgDescription:
    objects: dict[str, Described] = field(default_factory=dict)  # catalogue object ->
    missing: list[str] = field(default_factory=list)
    stages: list[tuple[str, bool]] = field(default_factory=list)  # (value, active)


def describe_org(connection: OrgConnection) -> OrgDescription:
    found = OrgDescription()
    names = connection.sobjects()
    for obj, spec in CATALOGUE.items():
        sobject = names.get(spec.source_table)
        if sobject is None:
            found.missing.append(spec.source_table)
            continue
        fields = describe(connection, sobject).get("fields", [])
        described = Described(sobject, fields)
        for (target_obj, unified), pattern in _LOOKS_LIKE.items():
            if target_obj != obj:
                continue
            for f in fields:
                if f.get("custom") and (
                    pattern.search(f["name"]) or pattern.search(f.get("label") or "")
                ):
                    described.suggested.setdefault(unified, f["name"].lower())
        found.objects[obj] = described
        if obj == "opportunity":
            stage = next((f for f in fields if f["name"] == "StageName"), None)
            found.stages = [
                (v["value"], bool(v.get("active", True)))
                for v in (stage or {}).get("picklistValues", [])
            ]
    return found


def render(org_key: str, found: OrgDescription) -> str:
    lines = []
    for obj, described in found.objects.items():
        lines.append(f"{described.sobject} ({obj}): {len(described.fields)} fields")
        for f in described.fields:
            marks = [
                m
                for m, on in (
                    ("custom", f.get("custom")),
                    ("external id", f.get("externalId")),
                    ("unique", f.get("unique")),
                    ("read-only", not f.get("updateable", True)),
                )
                if on
            ]
            length = f"({f['length']})" if f.get("length") else ""
            extra = f"  [{', '.join(marks)}]" if marks else ""
            lines.append(f"  {f['name']:<40} {f.get('type', '')}{length}{extra}")
    if found.missing:
        lines.append(f"Not in the org (or not visible to its user): {', '.join(found.missing)}")
    lines += ["", f"# Suggested for org {org_key!r} in org360.yaml (check before use):"]
    suggested = {o: d.suggested for o, d in found.objects.items() if d.suggested}
    if suggested:
        lines.append("fields:")
        for obj, mapping in suggested.items():
            lines.append(f"  {obj}:")
            lines += [f"    {unified}: {column}" for unified, column in mapping.items()]
    else:
        lines.append("# no custom field looks like a registration number or national id")
    if found.stages:
        lines.append("stages:  # each of the org's stages -> a stage of the shared funnel")
        for value, active in found.stages:
            note = "" if active else "  # inactive"
            lines.append(f"  {_yaml_key(value)}: {_yaml_key(value)}{note}")
    return "\n".join(lines)


def _yaml_key(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z][A-Za-z0-9 _-]*", value) else repr(value)
