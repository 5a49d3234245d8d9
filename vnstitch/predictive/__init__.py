"""The controller's side of prediction: per-pair counters, the forecast book, provisioning."""
