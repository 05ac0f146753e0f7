"""Where the current action comes from (web, api, task, command) and the caller's address, for the audit."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    source: str = "command"  # web | api | task | command
    ip: str | None = None


_origin: ContextVar[Origin] = ContextVar("dangjian_origin", default=Origin())  # noqa: B039  (frozen)


def current_origin() -> Origin:
    return _origin.get()


@contextlib.contextmanager
def origin(source: str, ip: str | None = None):
    token = _origin.set(Origin(source, ip))
    try:
        yield
    finally:
        _origin.reset(token)
