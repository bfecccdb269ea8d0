"""Questionnaires and their immutable published versions, stored in the database."""
