"""Import every model module so that the metadata is complete (for Alembic and create_all)."""

from survey.assessment import models as assessment_models
from survey.auth import models as auth_models
from survey.db import Base
from survey.instruments import models as instrument_models
from survey.responses import models as response_models
from survey.sampling import models as sampling_models
from survey.sampling import progress as progress_models

__all__ = ["Base", "assessment_models", "auth_models", "instrument_models", "response_models",
           "sampling_models", "progress_models"]
