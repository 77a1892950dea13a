"""Events out: the event log, the pull feed and signed webhooks."""
