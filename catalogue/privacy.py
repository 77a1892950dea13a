"""catalogue: no personal data. Items and brands describe what stores sell; no column
points at a user, so nothing is registered for export or erasure."""
