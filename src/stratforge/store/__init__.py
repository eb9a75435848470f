"""Persistence: SQLModel tables, the engine factory, content-addressed result blobs and
keyword-only store functions. Only the process that owns the job queue writes here."""
