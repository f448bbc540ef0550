"""How use cases get a fresh unit of work for each call."""

from collections.abc import Callable

from application.ports.unit_of_work import UnitOfWork

UnitOfWorkFactory = Callable[[], UnitOfWork]
