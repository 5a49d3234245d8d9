"""vnstitch: dynamic virtual-network stitching with predictive resource allocation."""

__version__ = "0.1.0"
