"""How use cases get a fresh unit of work for each call."""

from collections.abc import Callable

from application.ports import UnitOfWork

UnitOfWorkFactory = Callable[[], UnitOfWork]
