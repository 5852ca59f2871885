"""org360's Dagster assets by stage: staging (per org), unified, resolve, golden_next, golden."""
