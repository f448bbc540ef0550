"""What every table of the schema shares: the one MetaData, whose naming convention names
every constraint and index, and the column types of ids and currencies."""

from __future__ import annotations

from sqlalchemy import MetaData, String

ID = String(64)
CURRENCY = String(3)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)
