"""Compatibility shims for running Ryu 4.34 on current Python and eventlet."""
