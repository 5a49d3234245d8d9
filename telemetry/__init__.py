"""Traffic accounting from flow counters: bytes per endpoint pair per polling interval."""
