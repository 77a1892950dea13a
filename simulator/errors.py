"""The one error a simulation ends with before it walks."""


class SetupFailed(RuntimeError):
    """The server could not be reached, or refused what the run needs to start."""
