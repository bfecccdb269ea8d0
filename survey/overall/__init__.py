"""The overall PAR index per unit and year: external points, the inputs of analysis.overall, the page."""
