"""Rewards: purchases stores report, their attribution to friends' looks, and a
double-entry points ledger.

The road of a purchase: the store reports it (``POST /v1/stores/{id}/purchases``) with the
shopper's purchase token or offer code (claimed once through ``redemptions.service``),
its items (SKUs or catalogue ids of that store), the amount as a decimal string in the
currency's major unit and its own purchase id. ``service.report_purchase`` records it once
per store-side id (the same report again answers the first result; other content under
that id is a 409), attributes it with the pure ``core.attribute`` (the buyer's most recent
open of a friend's look that features a purchased item or its brand, inside the store's
window; never the buyer's own look, never across a block) and awards the creator
``core.award`` points under the store's caps.

The ledger (``ledger_core`` pure, ``ledger`` the one writer): accounts per store
(``store_liability``, ``store_loss``) and per user and store (``user_pending``,
``user_available``: points are spent where they were earned, so each store owes only its
own). Every movement is an append-only transfer between two accounts with a unique key
(``earn:<purchase>``, ``release:…``, ``void:…``, ``reverse:…``, ``loss:…``,
``spend:<code>``), so replays post nothing; balances move in the same flush and the
database refuses a user's balance below zero. Posting locks the accounts involved in
id order. Points are pending through the store's return window; the hourly
``rewards.release_pending`` job (``tasks``) makes them available. A refund inside the
window voids the pending points; after it the award is taken back from what the creator
still holds, and the part already spent is booked as the store's loss.

Spending: ``POST /v1/me/points/spend`` gives a one-time code (422 beyond what is available
at that store); the store confirms it (``POST /v1/stores/{id}/points/redemptions``), which
moves the points under the account locks: two confirmations against one balance cannot
overdraw it (the second is a 409 and its code stays unused).

For other packages: ``service.report_purchase``, ``service.refund_purchase``,
``service.release_pending``, ``points.my_points``, ``points.request_spend``,
``points.confirm_spend``, and the pure ``ledger_core`` and ``core``. Erasure keeps the
books: what the user held is forfeited back to each store, then their accounts and
purchases are pseudonymised (``privacy``).
"""
