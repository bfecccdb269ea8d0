"""Design-based survey estimation matching R's ``survey`` package.

Pure numpy/pandas/scipy implementation of stratified multistage designs
(:class:`Design`), linearised estimators (:mod:`analysis.estimate`) and weight
calibration (:mod:`analysis.weighting`), after Lumley (2010) *Complex Surveys:
A Guide to Analysis Using R*.
"""

from . import estimate, weighting
from ._variance import design_variance, design_vcov
from .design import Design

__all__ = ["Design", "design_variance", "design_vcov", "estimate", "weighting"]
