"""A stand-in Salesforce: the real protocol over HTTPS on 127.0.0.1, over an org held in
memory, with faults on demand. Tests and the demo read "orgs without Heroku Connect"
through simple-salesforce against it, since neither can reach Salesforce.

    from salesforce_standin import StandinOrg, FieldDef, StandinServer

    org = StandinOrg(org_id="00D000000000001AAA", multi_currency=True)
    org.add_field("Account", FieldDef("Org360_Golden_Id__c", "string", length=18,
                                      external_id=True))
    ids = org.insert("Account", [{"Name": "Acme"}])
    with StandinServer(org) as server:          # server.url, server.ca_path
        server.add_user("u@example.com", "pw", "token")
        ...

What it speaks: SOAP partner login, the OAuth token endpoint (JWT bearer, client
credentials, password), /limits, describe, the `deleted` resource, REST query/queryAll
with nextRecordsUrl, and Bulk API 2.0 query and ingest jobs; see `server.build_app` for
the routes and `soql` for the query subset. `org.faults` injects failures; the admin
endpoints (`admin`) drive a server running in another process (`python -m
salesforce_standin`, or `StandinProcess`).

This package imports nothing else from org360: it sits at the bottom layer.
"""

from salesforce_standin.context import RequestRecord
from salesforce_standin.faults import Faults
from salesforce_standin.org import RecordError, StandinOrg, UnknownField, UnknownObject
from salesforce_standin.runner import StandinProcess, StandinServer
from salesforce_standin.schema import FieldDef, ObjectDef
from salesforce_standin.values import InvalidValue

__all__ = [
    "Faults",
    "FieldDef",
    "InvalidValue",
    "ObjectDef",
    "RecordError",
    "RequestRecord",
    "StandinOrg",
    "StandinProcess",
    "StandinServer",
    "UnknownField",
    "UnknownObject",
]
