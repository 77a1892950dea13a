"""Field-tech tools, ``vicinity beacons …``: scan, register, calibrate, visit.

Modules: ``adverts`` (what was heard, and replay files), ``scan`` (the radio, through
bleak, an optional extra: ``pip install vicinity[fieldtool]``; imported only when a live
scan starts, so the server never loads it), ``board`` (what was heard, smoothed per
transmitter), ``render`` (tables), ``client`` (the registry API), ``cli`` (the commands).

Scanning uses bleak: its detection callback receives a ``BLEDevice`` and an
``AdvertisementData`` per advertisement, which become :class:`Advert` s here. With
``--replay FILE`` a recorded scan is read instead, one JSON object per line::

    {"address": "C3:00:00:00:00:01", "rssi": -61, "t": 0.25,
     "manufacturer_data": {"76": "0215…"}, "service_data": {"0000feaa-…": "20…"}}

(``t`` in seconds from the start of the scan, company ids in decimal or ``0x…``,
payloads in hex, as bleak reports them.) ``scan --record FILE`` writes that format.

The API is reached with httpx at ``--api`` / ``VICINITY_API`` with the tech key
``--key`` / ``VICINITY_KEY``.
"""
