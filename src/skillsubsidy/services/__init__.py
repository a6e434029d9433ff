"""Use cases of the subsidy process. Each takes a session inside one transaction
(``store.db.Database.run``), changes the records through the legal moves of
``domain.workflow`` only, and records every move as an event."""
