"""Migration 0005 makes every key's scope explicit without changing what any key may do."""

from __future__ import annotations

from sqlalchemy import Engine, text

from server.migrate import upgrade


def test_tech_keys_without_stores_become_fleet_wide_and_others_keep_their_stores(
    fresh_engine: Engine,
) -> None:
    upgrade(fresh_engine, "0004")
    with fresh_engine.begin() as conn:
        conn.execute(
            text("INSERT INTO stores (id, name, created_at, updated_at) VALUES (7, 'A', :t, :t)"),
            {"t": "2026-01-01 00:00:00+00:00"},
        )
        for key_id, role in ((1, "tech"), (2, "tech"), (3, "store"), (4, "operator")):
            conn.execute(
                text("INSERT INTO api_keys (id, name, role, key_hash, created_at) "
                     "VALUES (:id, :name, :role, :hash, :t)"),
                {"id": key_id, "name": f"k{key_id}", "role": role, "hash": f"h{key_id}",
                 "t": "2026-01-01 00:00:00+00:00"},
            )  # fmt: skip
        for key_id in (2, 3):
            conn.execute(
                text("INSERT INTO api_key_stores (api_key_id, store_id) VALUES (:k, 7)"),
                {"k": key_id},
            )
    upgrade(fresh_engine, "0005")
    with fresh_engine.connect() as conn:
        rows = conn.execute(text("SELECT id, all_stores FROM api_keys ORDER BY id")).all()
        stores = conn.execute(text("SELECT api_key_id, store_id FROM api_key_stores")).all()
    assert [(i, bool(a)) for i, a in rows] == [(1, True), (2, False), (3, False), (4, False)]
    assert sorted(stores) == [(2, 7), (3, 7)]
