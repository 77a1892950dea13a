"""Every API router, in the order the OpenAPI page shows them."""

from __future__ import annotations

from fastapi import APIRouter

from accounts.api import router as accounts_router
from beacons.api import me_router as sightings_router
from beacons.api import router as beacons_router
from broadcast.api import router as broadcasts_router
from catalogue.api import router as catalogue_router
from console.api import router as console_router
from events.api import router as events_router
from funnel.api import router as funnel_router
from geofence.api import me_router as locations_router
from geofence.api import router as geofences_router
from looks.api import router as looks_router
from nfc.api import me_router as taps_router
from nfc.api import router as nfc_router
from notifications.api import router as notifications_router
from offers.api import router as offers_router
from preferences.api import router as preferences_router
from privacy.api import router as privacy_router
from redemptions.api import router as redemptions_router
from rewards.api import router as rewards_router
from server.health import router as health_router
from social.api import router as social_router
from stores.api import router as stores_router

ROUTERS: tuple[APIRouter, ...] = (
    health_router,
    accounts_router,
    preferences_router,
    locations_router,
    sightings_router,
    taps_router,
    notifications_router,
    social_router,
    looks_router,
    redemptions_router,
    rewards_router,
    privacy_router,
    stores_router,
    geofences_router,
    offers_router,
    broadcasts_router,
    beacons_router,
    nfc_router,
    catalogue_router,
    events_router,
    funnel_router,
    console_router,
)
