"""What operators touch: configuration, the bearer token, metrics, the CLI and its client."""
