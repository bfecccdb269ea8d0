"""Questionnaire definitions: load and validate files into frozen objects (no database, no request)."""
