"""Every domain's personal-data declarations. A domain that starts keeping data about
users adds its ``privacy`` module here; the registry test fails until it does."""

from __future__ import annotations

import accounts.privacy
import beacons.privacy
import catalogue.privacy
import events.privacy
import looks.privacy
import notifications.privacy
import preferences.privacy
import presence.privacy
import redemptions.privacy
import rewards.privacy
import social.privacy

DOMAINS = (
    accounts.privacy,
    beacons.privacy,
    catalogue.privacy,
    events.privacy,
    looks.privacy,
    notifications.privacy,
    preferences.privacy,
    presence.privacy,
    redemptions.privacy,
    rewards.privacy,
    social.privacy,
)
