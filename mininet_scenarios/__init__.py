"""mininet_scenarios package."""
