"""The declarative base every model registers on, its constraint naming, and the shared enum column type.

One ``Base`` (hence one ``MetaData``) for the whole package: Alembic (``portfolio.schema``, migrations/env.py)
and tests/test_schema.py compare ``Base.metadata`` with the migrations, and relationship strings resolve
through its registry once every model module is imported (``portfolio.models`` does that).
"""

from __future__ import annotations

import enum

from sqlalchemy import Enum, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def checked_enum(kind: type[enum.Enum], name: str) -> Enum:
    """Store enums as their values in a checked VARCHAR: portable, readable in SQL, no native types to migrate."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
