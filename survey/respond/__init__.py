"""Respondent pages: invitation links."""
