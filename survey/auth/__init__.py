"""Staff users, roles, unit scopes, access decorators and the audit log."""
