"""The shared kernel: settings, database and unit of work, errors, ids, pagination, broadcast.

Imports no domain and nothing of the app; every domain may import it.
"""
