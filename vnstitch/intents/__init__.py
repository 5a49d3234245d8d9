"""Intents: declarative goals (connectivity, low latency, isolation) compiled to reservations.

``model`` holds the intent and its specs, ``parse`` validates REST bodies, ``compile`` turns an
intent into reservation requests and isolation drops, ``conflicts`` explains contradictions and
``lifecycle`` enforces the allowed state transitions. Everything here is pure: no clock, no I/O.
"""
