"""Forgetting to register a table that holds personal data fails here."""

from __future__ import annotations

import pytest
from sqlalchemy import Table

from kernel import personal_data as registry
from privacy.service import registered_tables
from server.models import Base


def personal_tables() -> dict[str, str]:
    """Every table that points at a user, directly or through another such table, and why."""
    why = {"users": "is the users table"}
    changed = True
    while changed:
        changed = False
        for table in Base.metadata.sorted_tables:
            if table.name in why:
                continue
            reason = _points_at_a_person(table, why)
            if reason:
                why[table.name] = reason
                changed = True
    return why


def _points_at_a_person(table: Table, personal: dict[str, str]) -> str | None:
    if "user_id" in table.columns:
        return "has a user_id column"
    for fk in table.foreign_keys:
        if fk.column.table.name in personal:
            return f"references {fk.column.table.name}"
    return None


def test_every_table_with_personal_data_is_registered() -> None:
    registered = registry.tables()
    missing = {name: why for name, why in personal_tables().items() if name not in registered}
    assert missing == {}, (
        "register these tables in their domain's privacy.py (export and erase), "
        f"and list the module in privacy/domains.py: {missing}"
    )


def test_registrations_name_real_tables_and_complete_ones() -> None:
    real = set(Base.metadata.tables)
    for entry in registry.tables().values():
        assert entry.table in real, entry
        if entry.within is not None:
            assert entry.within in registry.tables(), entry
            assert Base.metadata.tables[entry.table].foreign_keys, entry
    assert next(e.table for e in registered_tables()) == "users"


def test_the_walker_finds_tables_that_point_at_users_indirectly() -> None:
    assert personal_tables()["deliveries"] == "references notifications"
    assert "stores" not in personal_tables()
    assert "segments" not in personal_tables()


def test_registrations_are_checked() -> None:
    with pytest.raises(ValueError, match="twice"):
        registry.register("users", within="devices")
    with pytest.raises(ValueError, match="not both"):
        registry.register("x", export=lambda _s, _u: [], erase=lambda _s, _u: 0, within="users")
    with pytest.raises(ValueError, match="placeholder"):
        registry.register_redis("x", "vicinity:everyone")
    assert all(
        "{user_id}" in pattern for keys in registry.redis_keys() for pattern in keys.patterns
    )
