"""What a use case refuses, with the field or rule behind it (the API maps them to HTTP)."""

from __future__ import annotations


class ServiceError(Exception):
    """Base: the request was understood and refused; nothing was written."""


class NotFound(ServiceError):
    def __init__(self, what: str, key: object):
        super().__init__(f"{what} {key} not found")


class InvalidInput(ServiceError):
    """A value is wrong: names the field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class Refused(ServiceError):
    """A rule of the process forbids the step; cites the clause."""

    def __init__(self, message: str, clause: str | None = None):
        super().__init__(f"{message} ({clause})" if clause else message)
        self.clause = clause


class InProgress(Refused):
    """The same work is being done by another request right now: nothing was written; the
    caller may try again shortly (and will then see its outcome)."""

    retry_after = 1
