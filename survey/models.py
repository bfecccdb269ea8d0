"""Import every model module so that the metadata is complete (for Alembic and create_all)."""

from survey.assessment import models as assessment_models
from survey.auth import api_tokens as api_token_models
from survey.auth import models as auth_models
from survey.db import Base
from survey.instruments import models as instrument_models
from survey.jobs import models as job_models
from survey.overall import models as overall_models
from survey.responses import models as response_models
from survey.sampling import focal as focal_models
from survey.sampling import models as sampling_models
from survey.sampling import progress as progress_models

__all__ = ["Base", "api_token_models", "assessment_models", "auth_models", "focal_models",
           "instrument_models", "job_models", "overall_models", "progress_models", "response_models",
           "sampling_models"]
