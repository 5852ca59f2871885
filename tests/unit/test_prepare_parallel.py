import csv
import io
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from core.catalogue import FIELDS
from warehouse.unified import prepare_batch, unified_columns


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
    serial = [prepare_batch("contact", batch) for batch in batches]
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        parallel = [f.result() for f in [pool.submit(prepare_batch, "contact", b) for b in batches]]
    assert serial == parallel  # the same CSV for COPY, and the same counts
    columns = unified_columns("contact")
    first = next(csv.reader(io.StringIO(parallel[0].records)))
    assert first[columns.index("phone")] == "+49301234567"
    last = list(csv.reader(io.StringIO(parallel[4].records)))[-1]
    assert last[columns.index("sfid")] == f"003Am{249:013d}"
    assert parallel[0].count == 50 and parallel[0].rejected == ""
