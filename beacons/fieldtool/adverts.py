"""What a scan heard: one :class:`Advert` per advertisement, and replay files of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beacons.schemas import full_service_uuid


@dataclass(frozen=True, slots=True)
class Advert:
    """One advertisement as bleak reports it; ``t`` in seconds since the scan started."""

    address: str
    rssi: int
    manufacturer_data: dict[int, bytes]
    service_data: dict[str, bytes]
    t: float

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "rssi": self.rssi,
            "t": round(self.t, 3),
            "manufacturer_data": {str(k): v.hex() for k, v in self.manufacturer_data.items()},
            "service_data": {k: v.hex() for k, v in self.service_data.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Advert:
        return cls(
            address=str(data["address"]),
            rssi=int(data["rssi"]),
            manufacturer_data={
                int(str(k), 0): bytes.fromhex(v)
                for k, v in data.get("manufacturer_data", {}).items()
            },
            service_data={
                full_service_uuid(str(k)): bytes.fromhex(v)
                for k, v in data.get("service_data", {}).items()
            },
            t=float(data.get("t", 0.0)),
        )


class ReplayError(ValueError):
    pass


def read_replay(path: Path) -> list[Advert]:
    adverts = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                adverts.append(Advert.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ReplayError(f"{path}:{number}: not a recorded advertisement ({exc})") from exc
    return sorted(adverts, key=lambda a: a.t)
