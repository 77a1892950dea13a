"""The few registry calls the field tools make, over httpx with the tech's key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx


class ApiError(RuntimeError):
    pass


class Api:
    """The few registry calls the field tools make, with the tech's key."""

    def __init__(
        self, base_url: str, key: str | None, transport: httpx.BaseTransport | None = None
    ) -> None:
        headers = {} if key is None else {"Authorization": f"Bearer {key}"}
        self.base_url = base_url
        self._http = httpx.Client(
            base_url=base_url, headers=headers, timeout=10.0, transport=transport
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(f"cannot reach {self.base_url}: {exc}") from exc
        if response.is_error:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(f"{response.status_code}: {detail}")
        return response.json() if response.content else None

    def lookup(self, identities: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(identities), 200):
            body = {"identities": identities[start : start + 200]}
            found.update(self._call("POST", "/v1/beacons/lookup", json=body)["found"])
        return found

    def register(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/v1/beacons", json=body)
        return result

    def calibrate(self, beacon_id: int, measured_power_1m: int) -> dict[str, Any]:
        body = {"measured_power_1m": measured_power_1m}
        result: dict[str, Any] = self._call("PATCH", f"/v1/beacons/{beacon_id}", json=body)
        return result

    def visits(self) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            page = self._call("GET", "/v1/beacons/visits", params={"after": after, "limit": 200})
            yield from page["items"]
            if page["next_after"] is None:
                return
            after = page["next_after"]

    def visited(self, beacon_id: int, note: str | None, battery_replaced: bool) -> dict[str, Any]:
        body = {"note": note, "battery_replaced": battery_replaced}
        result: dict[str, Any] = self._call("POST", f"/v1/beacons/{beacon_id}/visit", json=body)
        return result

    def close(self) -> None:
        self._http.close()
