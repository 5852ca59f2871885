"""Declaring objects: the catalogue checks a declaration whole and says what is wrong
with it, and an installation's own objects come from the modules ORG360_OBJECTS names."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.catalogue import ACCOUNT, BUILT_IN, CONTACT, Field, ObjectSpec, validate
from core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def _partner(**changes) -> ObjectSpec:
    spec = ObjectSpec(
        "partner",
        (
            Field("name", "name", "company", length=80),
            Field("email", "email__c", "email", length=80),
            Field("account_sfid", "account__c", "sfid", length=18, golden=False, parent="account"),
        ),
        entity_type="Partner",
        golden_prefix="GP",
        label=("name",),
        matched=("name", "email"),
        description="Golden partners.",
        table="partner__c",
    )
    return dataclasses.replace(spec, **changes)


def test_a_well_formed_custom_object_passes():
    validate((*BUILT_IN, _partner()))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "Partner"}, "lower-case name"),
        ({"name": "a_very_long_object_name"}, "at most 16"),
        ({"golden_prefix": "GA"}, "golden_prefix 'GA' is taken"),
        ({"golden_prefix": "gp"}, "two capital letters"),
        ({"entity_type": "Account"}, "entity_type 'Account' is taken"),
        ({"label": ("nickname",)}, "'nickname' is not one of its fields"),
        ({"matched": ("account_sfid",)}, "matched field 'account_sfid' is a sfid"),
        ({"label": ("email",)}, "a field called 'name' must be its label alone"),
        ({"table": "Partner__c"}, "not a Connect table name"),
        ({"resolved": False}, "an object that is not resolved matches no fields"),
        ({"review_rule": "partner_review"}, "review_rule names a query, for an object that is"),
    ],
)
def test_a_malformed_declaration_is_refused_with_what_is_wrong(changes, message):
    with pytest.raises(ConfigError, match=message) as error:
        validate((*BUILT_IN, _partner(**changes)))
    assert "object" in str(error.value)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        (Field("tier", kind="picklist"), "kind 'picklist'; expected one of text"),
        (Field("org"), "not a usable name"),
        (Field("key_tier"), "not a usable name"),
        (Field("quote_sfid", kind="sfid", parent="quote"), "points to 'quote'"),
        (Field("owner_id", refers="account"), "only a computed field refers"),
        (Field("quote_id", computed=True, refers="quote"), "refers to 'quote'"),
        (Field("email"), "'email' is declared twice"),
    ],
)
def test_a_malformed_field_is_refused_with_its_name(field, message):
    spec = _partner()
    with pytest.raises(ConfigError, match=message):
        validate((*BUILT_IN, dataclasses.replace(spec, fields=(*spec.fields, field))))


def test_the_built_in_objects_declare_their_golden_names():
    assert ACCOUNT.name_is_a_field and not CONTACT.name_is_a_field
    assert CONTACT.name_length == 40 + 1 + 80  # first name, a space, last name


def _import_catalogue(objects: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import core.catalogue as c; print(','.join(c.OBJECTS))"],
        env={**os.environ, "ORG360_OBJECTS": objects},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_objects_declared_by_an_installation_join_the_catalogue_after_the_built_in_ones():
    result = _import_catalogue("tests.helpers.partner_objects")
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip()
        == "account,contact,opportunity,lead,contact_role,partner,partner_deal"
    )


@pytest.mark.parametrize(
    ("module", "message"),
    [
        ("tests.helpers.no_such_module", "cannot import module 'tests.helpers.no_such_module'"),
        ("tests.helpers.names", "must declare OBJECTS, a list of core.catalogue.ObjectSpec"),
    ],
)
def test_a_wrong_objects_module_is_named_in_the_error(module, message):
    result = _import_catalogue(module)
    assert result.returncode != 0
    assert "ORG360_OBJECTS" in result.stderr and message in result.stderr
