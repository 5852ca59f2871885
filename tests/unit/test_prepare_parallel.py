import pandas as pd

from core.catalogue import FIELDS
from warehouse.unified import _prepare_all


def _batch(n: int, offset: int) -> pd.DataFrame:
    rows = [
        {
            "org": "amer",
            "sfid": f"003Am{offset + i:013d}",
            "first_name": f"Name{i}",
            "last_name": "Müller",
            "phone": "030 1234567",
            "mailing_country": "Deutschland",
            "systemmodstamp": None,
            "hc_lastop": "SYNCED",
        }
        for i in range(n)
    ]
    return pd.DataFrame(rows).reindex(
        columns=["org", "sfid", *FIELDS["contact"], "systemmodstamp", "hc_lastop"]
    )


def test_worker_processes_give_the_same_result_in_the_same_order():
    batches = [_batch(50, k * 50) for k in range(5)]
    serial = list(_prepare_all("contact", iter(batches), parallel=False))
    parallel = list(_prepare_all("contact", iter(batches), parallel=True))
    assert len(parallel) == 5
    for a, b in zip(serial, parallel, strict=True):
        pd.testing.assert_frame_equal(a.records, b.records)
        pd.testing.assert_frame_equal(a.rejected, b.rejected)
        assert a.cleaned == b.cleaned
    assert parallel[0].records["phone"].iloc[0] == "+49301234567"
    assert parallel[4].records["sfid"].iloc[-1] == f"003Am{249:013d}"
