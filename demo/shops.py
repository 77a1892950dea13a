"""Real Paris shops (OpenStreetMap, © OpenStreetMap contributors, ODbL 1.0).

The demo city, the simulator and the benchmarks all read them from here. Points become
circles: 50 m, the smallest radius GPS can honour (OwnTracks' field experience);
building polygons smaller than a shop floor do too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry

from geofence.shapes import area_m2

DATA = Path(__file__).parent / "paris_shops"
ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"
CIRCLE_RADIUS_M = 50.0
MIN_POLYGON_M2 = 150.0

# File, the segment its shops' offers target, and a demo offer.
KINDS: dict[str, tuple[str, str, str]] = {
    "bijoutiers": ("jewellery", "A little sparkle", "-15% on rings and earrings, today only."),
    "fleuristes": ("flowers", "Fresh bouquets", "A free rose with any bouquet."),
    "kiosques": ("press", "Today's papers", "Two magazines for the price of one."),
    "supermarches": ("groceries", "Fresh produce", "-10% on fruit and vegetables."),
}


@dataclass(frozen=True, slots=True)
class Shop:
    osm_id: str
    name: str
    kind: str
    segment: str
    geometry: BaseGeometry
    radius_m: float | None


def load_shops() -> list[Shop]:
    shops: list[Shop] = []
    for kind, (segment, _title, _body) in KINDS.items():
        data = json.loads((DATA / f"{kind}.geojson").read_text(encoding="utf-8"))
        for feature in data["features"]:
            geom = shape(feature["geometry"])
            name = (
                feature["properties"].get("name") or f"{kind.rstrip('s').title()} {feature['id']}"
            )
            if isinstance(geom, Point):
                shops.append(Shop(feature["id"], name, kind, segment, geom, CIRCLE_RADIUS_M))
            elif geom.is_valid and area_m2(geom) >= MIN_POLYGON_M2:
                shops.append(Shop(feature["id"], name, kind, segment, geom, None))
            else:
                centre = geom.representative_point()
                shops.append(Shop(feature["id"], name, kind, segment, centre, CIRCLE_RADIUS_M))
    return shops
