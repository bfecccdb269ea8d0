"""Self-assessment of the PAR index: scores, evidence, explanations, approval, appraisal, deadlines."""
