"""Units, respondent groups, waves, strata, the sampling frame and invitations."""
