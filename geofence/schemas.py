from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from geojson_pydantic import MultiPolygon, Point, Polygon
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from shapely.geometry import mapping

from geofence.models import Geofence
from kernel.limits import refuse_oversized_batch
from kernel.text import Name
from kernel.times import Timestamp
from presence.confidence import Confidence
from stores.labels import ExternalId, Metadata, Tags

SHOP_POLYGON: dict[str, Any] = {
    "type": "Feature",
    "geometry": {
        "type": "Polygon",
        "coordinates": [
            [
                [2.3470, 48.8600],
                [2.3480, 48.8600],
                [2.3480, 48.8606],
                [2.3470, 48.8606],
                [2.3470, 48.8600],
            ]
        ],
    },
    "properties": {"name": "Front door", "dwell_s": 300, "external_id": "RIV-001-door"},
}
SHOP_CIRCLE: dict[str, Any] = {
    "type": "Feature",
    "geometry": {"type": "Point", "coordinates": [2.3522, 48.8566]},
    "properties": {"name": "Around the shop", "radius_m": 80, "dwell_s": 120},
}


class GeofenceProperties(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name
    radius_m: float | None = Field(
        default=None, description="Circle radius in metres; only with a Point geometry."
    )
    dwell_s: int = Field(
        default=300, ge=0, le=86_400, description="Seconds inside before DWELL fires."
    )
    external_id: ExternalId | None = Field(
        default=None,
        description="The store system's key for this geofence, unique within the store: "
        "imports match geofences by it.",
    )
    tags: Tags = Field(default_factory=list)
    metadata: Metadata = Field(default_factory=dict)


LABELS = ("external_id", "tags", "metadata")
"""Properties a redraw keeps when they are not sent (like ``dwell_s``)."""


class GeofenceFeatureIn(BaseModel):
    """A GeoJSON Feature: a Polygon or MultiPolygon, or a Point with `radius_m`."""

    model_config = ConfigDict(json_schema_extra={"examples": [SHOP_POLYGON, SHOP_CIRCLE]})
    type: Literal["Feature"]
    geometry: Polygon | MultiPolygon | Point
    properties: GeofenceProperties

    @model_validator(mode="before")
    @classmethod
    def _needs_geometry(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if data.get("type") != "Feature":
                raise ValueError(f"expected a GeoJSON Feature, got type {data.get('type')!r}")
            if data.get("geometry") is None:
                raise ValueError("a geofence Feature needs a geometry")
        return data

    def geometry_dict(self) -> dict[str, Any]:
        return self.geometry.model_dump(exclude_none=True)

    def dwell_if_sent(self) -> int | None:
        """``dwell_s`` when the client sent it; a redraw keeps the current one otherwise."""
        return self.properties.dwell_s if "dwell_s" in self.properties.model_fields_set else None

    def labels_if_sent(self) -> dict[str, Any]:
        """The external id, tags and metadata the client sent; a redraw keeps the others."""
        sent = self.properties.model_fields_set
        return {k: getattr(self.properties, k) for k in LABELS if k in sent}


class GeofencePatchProperties(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    radius_m: float | None = Field(default=None, description="With a Point geometry.")
    dwell_s: int | None = Field(default=None, ge=0, le=86_400)
    external_id: ExternalId | None = Field(default=None, description="`null` clears it.")
    tags: Tags | None = None
    metadata: Metadata | None = None


class GeofencePatch(BaseModel):
    """Only what is sent changes: the name, the dwell time, the geometry (or a circle's
    radius). A new geometry is checked like a new geofence."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"properties": {"dwell_s": 60}}]}
    )
    type: Literal["Feature"] = "Feature"
    geometry: Polygon | MultiPolygon | Point | None = None
    properties: GeofencePatchProperties = Field(default_factory=GeofencePatchProperties)

    def changes(self) -> dict[str, Any]:
        sent = self.properties.model_dump(exclude_unset=True)
        for keep in ("tags", "metadata"):  # null: unchanged (only an external id clears)
            if sent.get(keep, "") is None:
                del sent[keep]
        if self.geometry is not None:
            sent["geometry"] = self.geometry.model_dump(exclude_none=True)
        return sent


_GEOMETRY: TypeAdapter[Polygon | MultiPolygon | Point] = TypeAdapter(Polygon | MultiPolygon | Point)


class GeofenceFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: Polygon | MultiPolygon | Point
    properties: dict[str, Any]

    @classmethod
    def of(cls, row: Geofence) -> GeofenceFeature:
        return cls(
            id=row.id,
            geometry=_GEOMETRY.validate_python(mapping(row.geometry)),
            properties={
                "store_id": row.store_id,
                "name": row.name,
                "radius_m": row.radius_m,
                "dwell_s": row.dwell_s,
                "external_id": row.external_id,
                "tags": list(row.tags or []),
                "metadata": dict(row.meta or {}),
                "created_at": row.created_at.isoformat(),
                "updated_at": row.updated_at.isoformat(),
            },
        )


class GeofenceCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[GeofenceFeature]
    next_after: int | None


class FixIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90, description="Latitude, degrees (WGS84).")
    lon: float = Field(ge=-180, le=180, description="Longitude, degrees (WGS84).")
    accuracy_m: float = Field(gt=0, le=100_000, description="Horizontal accuracy, metres.")
    recorded_at: Timestamp = Field(description="When the phone took the fix (ISO 8601 with zone).")


class LocationBatch(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "fixes": [
                        {
                            "lat": 48.8603,
                            "lon": 2.3475,
                            "accuracy_m": 12,
                            "recorded_at": "2026-11-23T10:00:00Z",
                        }
                    ]
                }
            ]
        },
    )
    fixes: list[FixIn] = Field(
        min_length=1, description="One or more fixes, any order (at most `VICINITY_MAX_BATCH`)."
    )

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        return refuse_oversized_batch(data, "fixes", "fixes")


class ZoneEventOut(BaseModel):
    zone: str
    store_id: int | None
    transition: str
    at: datetime
    confidence: Confidence = Field(
        description="How sure the event is: `low`, `medium` or `high`, from the fix's "
        "accuracy against the fence's size, the beacon's proximity, an NFC tap (high), and "
        "whether GPS and a beacon of the same store agree (high); see presence/confidence.py."
    )


class LocationReport(BaseModel):
    accepted: int
    ignored: dict[str, int] = Field(
        description="Fixes ignored by reason: poor_accuracy, out_of_order, stale, teleport "
        "(an impossible jump from the last accepted fix, faster than VICINITY_MAX_SPEED_KMH)."
    )
    events: list[ZoneEventOut]
    notifications: list[int] = Field(description="Ids of notifications this batch triggered.")
