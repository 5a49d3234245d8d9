"""Intents: declarative goals (connectivity, low latency, isolation) compiled to reservations.

``specs`` holds the three kinds of spec, ``parse`` validates REST bodies into specs, ``model``
holds the intent (its spec, lifecycle state, REST and storage forms; it re-exports the specs),
``compile`` turns an intent into reservation requests and isolation drops, ``conflicts``
explains contradictions and ``lifecycle`` enforces the allowed state transitions. Imports run one
way: ``model`` -> ``parse`` -> ``specs``. Everything here is pure: no clock, no I/O.
"""
