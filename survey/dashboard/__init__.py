"""Analyst pages: a wave's index components with confidence intervals, and their downloads."""
