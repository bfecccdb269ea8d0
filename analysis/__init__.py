"""Design-based survey estimation matching R's ``survey`` package.

Pure numpy/pandas/scipy implementation of stratified multistage designs
(:class:`Design`), linearised estimators (:mod:`analysis.estimate`), weight
calibration (:mod:`analysis.weighting`) and replicate weights (:mod:`analysis.replicates`),
after Lumley (2010) *Complex Surveys: A Guide to Analysis Using R*.
"""

from . import estimate, replicates, weighting
from ._variance import design_variance, design_vcov
from .design import Design
from .replicates import ReplicateWeights, make_replicates

__all__ = ["Design", "ReplicateWeights", "design_variance", "design_vcov", "estimate", "make_replicates",
           "replicates", "weighting"]
