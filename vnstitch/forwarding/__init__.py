"""forwarding package."""
