"""Policy packs as data and the batch rules engine. No database, no HTTP."""
