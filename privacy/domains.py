"""Every domain's personal-data declarations. A domain that starts keeping data about
users adds its ``privacy`` module here; the registry test fails until it does."""

from __future__ import annotations

import accounts.privacy
import beacons.privacy
import notifications.privacy
import preferences.privacy
import presence.privacy

DOMAINS = (
    accounts.privacy,
    beacons.privacy,
    notifications.privacy,
    preferences.privacy,
    presence.privacy,
)
