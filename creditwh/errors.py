"""Errors a user can act on. The CLI prints their message and exits 1; anything else is an internal error."""


class CreditwhError(Exception):
    """Base class: the message is complete and meant for a person."""


class StageFailed(CreditwhError):
    """A pipeline stage could not do its job (the message says which and why)."""
