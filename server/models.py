"""Imports every domain's models so the metadata is complete (migrations, tests)."""

from __future__ import annotations

import accounts.audit  # noqa: F401 - its table joins the metadata
import broadcast.models  # noqa: F401 - its tables join the metadata
import catalogue.models  # noqa: F401 - its tables join the metadata
import events.models  # noqa: F401 - its tables join the metadata
import funnel.models  # noqa: F401 - its tables join the metadata
import looks.models  # noqa: F401 - its tables join the metadata
import nfc.models  # noqa: F401 - its tables join the metadata
import redemptions.models  # noqa: F401 - its tables join the metadata
import rewards.models  # noqa: F401 - its tables join the metadata
import social.models  # noqa: F401 - its tables join the metadata
from accounts.models import ApiKey, Device, User, api_key_stores
from beacons.models import Beacon, BeaconEvent
from geofence.models import Geofence
from kernel.db import Base
from kernel.versions import index_versions
from notifications.models import Delivery, Notification
from offers.models import Offer, offer_geofences, offer_segments
from preferences.models import (
    Activation,
    ConsentRecord,
    DeliveryPreferences,
    Interest,
    MutedStore,
    PolicyVersion,
    Segment,
)
from stores.models import Store

__all__ = [
    "Activation",
    "ApiKey",
    "Base",
    "Beacon",
    "BeaconEvent",
    "ConsentRecord",
    "Delivery",
    "DeliveryPreferences",
    "Device",
    "Geofence",
    "Interest",
    "MutedStore",
    "Notification",
    "Offer",
    "PolicyVersion",
    "Segment",
    "Store",
    "User",
    "api_key_stores",
    "index_versions",
    "offer_geofences",
    "offer_segments",
]
