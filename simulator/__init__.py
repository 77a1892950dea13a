"""``vicinity simulate``: virtual shoppers walking the demo city, driving the HTTP API.

``core`` (pure: itineraries, GPS noise, beacons, taps, batching) · ``stats`` (counting) ·
``api`` (requests, Retry-After) · ``setup`` (the city and the shoppers' onboarding) ·
``run`` (the walk) · ``live`` (the rich table) · ``report`` (JSON and SVG) · ``main``.
"""
