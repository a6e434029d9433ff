"""The subsidy process as pure data: statuses and the legal moves between them. No framework."""
