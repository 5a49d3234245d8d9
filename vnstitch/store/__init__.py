"""Durable controller state in SQLite: intents, reservations, the host inventory, id counters.

Plain records in, plain records out (``vnstitch.store.records``); the store knows nothing of the
classes that produce them and imports nothing but the standard library and ``vnstitch.clock``
(times are RFC 3339 text; ``vnstitch.store.migration`` upgrades files of older schemas).
"""
