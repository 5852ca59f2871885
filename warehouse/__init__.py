"""The pipeline's work on the database, stage by stage; Dagster assets call these."""
