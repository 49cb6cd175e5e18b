"""The one base class for refusals that are shown to the user as they are."""

from __future__ import annotations


class UserError(Exception):
    """A refusal or bad input; ``message`` is Simplified Chinese for the user (or operator)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
