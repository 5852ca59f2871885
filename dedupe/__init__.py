"""org360's matching library: normalise, block, compare, score, cluster, survive.

Pure Python over pandas/numpy frames; it knows nothing of Dagster or databases.
"""
