"""Jobs rebuilt from org360's code location in each step's process, as the Dagster
daemon and webserver run them (the multiprocess executor needs a reconstructable job)."""

import dagster as dg

from pipelines.definitions import defs


def consolidation_job() -> dg.JobDefinition:
    return defs().resolve_job_def("consolidation_job")
