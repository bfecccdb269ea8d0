"""Data entry: clerks record paper forms and phone interviews through the same pages."""
