"""NFC tags: a store's tags, and taps that count as presence at the store.

Rules:

* a store registers NFC tags by UID (ISO/IEC 14443: 4, 7 or 10 bytes, kept as upper-case
  hex) with a placement ("counter"); a UID is unique across all stores, since a physical
  tag is in one shop. Its staff, tech keys covering it and the operator manage them;
  another store's tag is not found (404), a UID registered anywhere is a 409 that does
  not say where;
* a tap (``POST /v1/me/taps``: UID and ``tapped_at``) is presence at the tag's store
  through the one presence flow (``presence.flow``), source ``nfc``, zone
  ``nfc:<store id>:<placement>`` (rules in ``nfc.core``), decided under the
  ``beacon_proximity`` consent: an ENTER pushes the store's offers like a beacon zone;
  a later tap while still inside changes nothing; presence times out as usual;
* unknown or deleted tags, a tag of another store than the one the phone names: 404;
  the same tap again: 409; ``tapped_at`` too old or too far ahead: 422; nothing is
  recorded for any of them;
* without ``beacon_proximity`` consent the tap is answered but not accepted, and nothing
  about the user is kept (as for sightings);
* taps are not stored, only the presence they cause (minutes, in the presence store):
  this package holds no personal data;
* the tap answers with the tag's store, so the phone shows that store's redemption
  codes (``GET /v1/me/codes``) at the counter; listing them here would make this
  package, which sits with beacons below offers, import redemptions above it.
"""
