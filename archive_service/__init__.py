"""org360's archive service: move records out of Heroku Connect tables and back.

Salesforce posts archive and unarchive jobs to the HTTP API (`api`), which records
them and queues them; workers (`worker`) run each job in batches through stored
procedures (`warehouse_sql/procedures/archive.sql`), so that every record ends up in
exactly one place, live or archived, whatever crashes in between.
"""
