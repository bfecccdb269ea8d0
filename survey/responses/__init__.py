"""Response storage and submission."""
