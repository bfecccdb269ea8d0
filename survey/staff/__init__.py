"""Staff pages: the coordinator's home."""
