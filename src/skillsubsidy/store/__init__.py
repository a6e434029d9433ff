"""The system of record: SQLAlchemy 2 mapping, the database session, Alembic migrations."""
