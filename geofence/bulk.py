"""A store's geofences in bulk: exported and imported as a GeoJSON FeatureCollection.

An import is matched on each feature's ``external_id`` (the store system's key): a new
one is created, a known one updated, an identical one left untouched, so sending the same
file twice changes nothing. Geofences absent from the file stay. Every feature is checked
as a single create checks it (shape, size, distance from the store and its other
geofences) before anything is written; if any fails, nothing is imported and the answer
names each failing feature. The request's unit of work makes the writes one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from geofence import repository
from geofence.models import Geofence
from geofence.schemas import GeofenceFeature, GeofenceProperties
from geofence.service import Placement, centres, check_placement
from geofence.shapes import parse_shape
from kernel.db import after_commit
from kernel.errors import Invalid, PayloadTooLarge
from kernel.principal import Role, Staff
from stores.labels import ExternalId
from stores.models import Store
from stores.service import get_store

MAX_FEATURES = 1_000
MAX_MESSAGE = 300

# The shell has no key: whoever runs the server's command line is its operator.
SHELL = Staff(key_id=0, role=Role.OPERATOR, store_ids=frozenset())


class ImportProperties(GeofenceProperties):
    """A single geofence's properties, with ``external_id`` required; those an export
    writes but an import cannot set (store_id, created_at, updated_at) are ignored."""

    external_id: ExternalId
    store_id: Any = Field(default=None, exclude=True)
    created_at: Any = Field(default=None, exclude=True)
    updated_at: Any = Field(default=None, exclude=True)


class ImportFeature(BaseModel):
    """A feature of an import; its ``id`` (a geofence id, in an export) is ignored."""

    type: Literal["Feature"]
    # Read by the shape checks, which name what is wrong better than a union's errors.
    geometry: dict[str, Any]
    properties: ImportProperties

    @model_validator(mode="before")
    @classmethod
    def _a_feature(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("type") != "Feature":
            got = data.get("type") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"expected a GeoJSON Feature, got {got!r}")
        if data.get("geometry") is None:
            raise ValueError("a geofence Feature needs a geometry")
        return data


_FEATURE: TypeAdapter[ImportFeature] = TypeAdapter(ImportFeature)


class FeatureCollectionIn(BaseModel):
    """A GeoJSON FeatureCollection of Polygon, MultiPolygon or Point (with `radius_m`)
    features, each with `properties.external_id`; other top-level members (name, crs,
    bbox) are ignored."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "geometry": {"type": "Point", "coordinates": [2.3522, 48.8566]},
                            "properties": {
                                "external_id": "RIV-001-street",
                                "name": "Around the shop",
                                "radius_m": 80,
                                "tags": ["street"],
                            },
                        }
                    ],
                }
            ]
        }
    )
    type: Literal["FeatureCollection"]
    features: list[Any] = Field(
        description=f"At most {MAX_FEATURES:,} features; each is checked on its own."
    )

    @model_validator(mode="before")
    @classmethod
    def _bounded(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if data.get("type") != "FeatureCollection":
                raise ValueError(
                    f"expected a GeoJSON FeatureCollection, got type {data.get('type')!r}"
                )
            features = data.get("features")
            if isinstance(features, list):
                refuse_too_many(len(features))
        return data


class FeatureCollectionOut(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[GeofenceFeature]


def refuse_too_many(count: int) -> None:
    if count > MAX_FEATURES:
        raise PayloadTooLarge(
            f"{count:,} features in one import; the maximum is {MAX_FEATURES:,}: split the file"
        )


@dataclass(frozen=True, slots=True)
class FeatureError:
    index: int  # the feature's place in the file, from 0
    external_id: str | None
    error: str


class ImportRefused(Invalid):
    """One or more features failed their checks: nothing was imported."""

    def __init__(self, errors: list[FeatureError], total: int) -> None:
        super().__init__(f"{len(errors)} of {total} features are invalid; nothing was imported")
        self.errors = errors
        self.extra = {"errors": [asdict(e) for e in errors]}


Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True, slots=True)
class Imported:
    external_id: str
    id: int
    outcome: Outcome


@dataclass(frozen=True, slots=True)
class ImportReport:
    geofences: list[Imported] = field(default_factory=list)

    def count(self, outcome: Outcome) -> int:
        return sum(1 for g in self.geofences if g.outcome == outcome)


class ImportedOut(BaseModel):
    external_id: str
    id: int
    outcome: Outcome


class ImportReportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    geofences: list[ImportedOut] = Field(description="One per feature, in the file's order.")

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportOut:
        return cls(
            created=report.count("created"),
            updated=report.count("updated"),
            unchanged=report.count("unchanged"),
            geofences=[ImportedOut(**asdict(g)) for g in report.geofences],
        )


class FeatureErrorOut(BaseModel):
    index: int = Field(description="The feature's place in `features`, from 0.")
    external_id: str | None
    error: str


class ImportRefusedOut(BaseModel):
    error: str = Field(examples=["invalid"])
    detail: str = Field(examples=["1 of 40 features are invalid; nothing was imported"])
    errors: list[FeatureErrorOut] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Checked:
    feature: ImportFeature
    shape: BaseGeometry
    row: Geofence | None  # the store's geofence with this external id, if any


def export_geofences(session: Session, *, staff: Staff | None, store_id: int) -> list[Geofence]:
    """Every geofence of the store, oldest first. ``staff`` None is the server's shell."""
    get_store(session, staff=staff or SHELL, store_id=store_id)
    return repository.all_of_store(session, store_id)


def import_geofences(
    session: Session,
    *,
    staff: Staff | None,
    store_id: int,
    features: Sequence[Any],
    placement: Placement,
    on_imported: Callable[[], None],
) -> ImportReport:
    """Check every feature, then create, update or keep each by external id (see the
    module's docstring). ``on_imported`` runs after commit when anything changed (the
    processes' index resync). ``staff`` None is the server's shell."""
    store = get_store(session, staff=staff or SHELL, store_id=store_id)
    refuse_too_many(len(features))
    checked, errors = _check_all(session, store, features, placement)
    if errors:
        raise ImportRefused(errors, len(features))
    done: list[tuple[str, Geofence, Outcome]] = []
    for item in checked:
        done.append((item.feature.properties.external_id, *_write(session, store_id, item)))
    session.flush()
    if any(outcome != "unchanged" for _e, _r, outcome in done):
        after_commit(session, on_imported)
    return ImportReport([Imported(e, row.id, outcome) for e, row, outcome in done])


def _check_all(
    session: Session, store: Store, features: Sequence[Any], placement: Placement
) -> tuple[list[_Checked], list[FeatureError]]:
    parsed: list[tuple[int, ImportFeature]] = []
    errors: list[FeatureError] = []
    first_at: dict[str, int] = {}
    for index, raw in enumerate(features):
        try:
            feature = _FEATURE.validate_python(raw)
        except ValidationError as error:
            errors.append(FeatureError(index, _raw_external_id(raw), _explain(error)))
            continue
        key = feature.properties.external_id
        if key in first_at:
            why = f"external_id {key!r} is also feature {first_at[key]}'s"
            errors.append(FeatureError(index, key, why))
            continue
        first_at[key] = index
        parsed.append((index, feature))
    existing = repository.by_external_ids(session, store.id, list(first_at))
    others = centres(session, store.id)
    checked: list[_Checked] = []
    for index, feature in parsed:
        props = feature.properties
        row = existing.get(props.external_id)
        try:
            shape = parse_shape(feature.geometry, props.radius_m)
            near = [c for i, c in others.items() if row is None or i != row.id]
            check_placement(shape, props.radius_m, store=store, others=near, placement=placement)
        except Invalid as error:
            errors.append(FeatureError(index, props.external_id, error.detail))
            continue
        checked.append(_Checked(feature, shape, row))
    errors.sort(key=lambda e: e.index)
    return checked, errors


def _write(session: Session, store_id: int, item: _Checked) -> tuple[Geofence, Outcome]:
    props = item.feature.properties
    sent = props.model_fields_set
    if item.row is None:
        row = Geofence(
            store_id=store_id,
            name=props.name,
            geometry=item.shape,
            radius_m=props.radius_m,
            dwell_s=props.dwell_s,
            external_id=props.external_id,
            tags=props.tags,
            meta=props.metadata,
        )
        session.add(row)
        return row, "created"
    row = item.row
    # As a redraw (PUT): a dwell time, tags or metadata the feature leaves out are kept.
    wanted: dict[str, Any] = {"name": props.name, "radius_m": props.radius_m}
    wanted.update({k: getattr(props, k) for k in ("dwell_s", "tags") if k in sent})
    if "metadata" in sent:
        wanted["meta"] = props.metadata
    same_shape = row.geometry.geom_type == item.shape.geom_type and row.geometry.equals_exact(
        item.shape, 0.0
    )
    if same_shape and all(getattr(row, k) == v for k, v in wanted.items()):
        return row, "unchanged"
    if not same_shape:
        row.geometry = item.shape
    for name, value in wanted.items():
        setattr(row, name, value)
    return row, "updated"


def _raw_external_id(raw: Any) -> str | None:
    """The feature's external id as sent, when it is a string (for the report)."""
    props = raw.get("properties") if isinstance(raw, dict) else None
    value = props.get("external_id") if isinstance(props, dict) else None
    return value[:200] if isinstance(value, str) else None


def _explain(error: ValidationError) -> str:
    parts = []
    for problem in error.errors()[:3]:
        where = ".".join(str(p) for p in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    text = "; ".join(parts)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"
