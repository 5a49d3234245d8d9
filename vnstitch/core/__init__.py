"""The pure controller core: events and commands in (each with the time), actions out.

``ControllerCore`` (``vnstitch.core.controller``) owns all controller state and policy; the Ryu
adapter (``ryu_apps/``) only translates OpenFlow events into :mod:`vnstitch.core.events`,
REST requests into :mod:`vnstitch.core.commands`, and sends the :mod:`vnstitch.core.actions`
it gets back. Nothing here imports Ryu or reads a clock.
"""
