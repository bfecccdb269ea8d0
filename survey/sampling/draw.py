"""The draw: which people of a wave's sampling frame are invited, and with what probability.

Groups of officials are surveyed in full (a census: everyone selected with probability 1). In every
other stratum (citizens, organisations) the sample is drawn from the frame either by simple random
sampling without replacement (`srs`) or systematically (`systematic`: a random start, then a fixed
interval along the frame ordered by village code and then by frame row), with the same fixed size
in every stratum or a size computed from a target margin of error at 95% confidence for a
proportion (p = 0.5 unless said, finite population correction, optional design effect), never more
than the stratum's population.

An optional first stage draws villages (`cluster_code`) with probability proportional to their size
(the number of people of the frame in them) by systematic PPS; a village at least as large as the
sampling interval is taken with certainty and the interval recomputed over the others. A fixed number
of people is then drawn within each village drawn (everyone in a smaller village).

The planning (`plan`) is pure: the same strata, parameters and seed give the same selection, and
each stratum's random stream depends only on the seed and the stratum's code, so drawing some strata
(a coordinator scoped to some units) gives each of them what drawing all would. The service (`draw`)
stores for every selected person the probability of each stage and their product
(`frame_entries.selection_probability`; NULL means not selected), the stratum's population and
sample sizes, and the draw itself (`draws`), so that a report can state how the sample was drawn.
"""

import math
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from statistics import NormalDist

import numpy as np
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from survey.sampling.models import DRAW_METHODS, Draw, FrameEntry, Invitation, RespondentGroup, Stratum, Wave
from survey.sampling.service import WaveError, _editable

Z95 = NormalDist().inv_cdf(0.975)  # 1.959963984540054
SEED_LIMIT = 2**63  # seeds are stored in a BIGINT
ORDER = "cluster_code, frame row"  # the order systematic sampling walks along (recorded with the draw)
FORMULAS = ("cochran", "yamane")
CHUNK = 1000  # frame entry ids per UPDATE statement


@dataclass(frozen=True)
class DrawParameters:
    """What the coordinator chose: the method, how large the sample is, and an optional cluster stage.

    Exactly one of `size`, `margin` or (with `per_cluster`) `clusters` says how large each stratum's
    sample is; with `per_cluster`, a size or margin gives the number of villages as size / per_cluster
    rounded up.
    """

    method: str = "srs"
    size: int | None = None
    margin: float | None = None
    p: float = 0.5
    deff: float = 1.0
    clusters: int | None = None
    per_cluster: int | None = None
    formula: str = "cochran"  # or "yamane": n = N / (1 + N e²), the rule of QĐ 1001/QĐ-BNV for SIPAS

    def check(self) -> None:
        """Raise WaveError (reason `draw_parameters`, naming the `field`) unless the parameters hold."""
        def refuse(name: str, why: str):
            raise WaveError(f"draw: {why}", "draw_parameters", field=name)

        if self.method not in DRAW_METHODS:
            refuse("method", f"method must be one of {', '.join(DRAW_METHODS)}")
        if self.formula not in FORMULAS:
            refuse("formula", f"formula must be one of {', '.join(FORMULAS)}")
        given = [name for name in ("size", "margin", "clusters") if getattr(self, name) is not None]
        if self.clusters is not None and self.per_cluster is None:
            refuse("per_cluster", "a number of villages needs a number of people per village")
        if len(given) != 1:
            refuse("size", "give exactly one of a sample size, a margin of error or a number of villages")
        if self.size is not None and self.size < 1:
            refuse("size", "the sample size must be at least 1")
        if self.margin is not None and not 0 < self.margin < 1:
            refuse("margin", "the margin of error must lie between 0 and 1")
        if not 0 < self.p < 1:
            refuse("p", "the expected proportion must lie between 0 and 1")
        if not self.deff > 0:
            refuse("deff", "the design effect must be positive")
        for name in ("clusters", "per_cluster"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                refuse(name, f"{name} must be at least 1")

    def as_json(self) -> dict:
        """The parameters as stored with the draw (the unset ones left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class FrameStratum:
    """A stratum's people as the planner needs them: (frame entry id, village code) in frame order."""

    id: int
    code: str
    census: bool
    entries: Sequence[tuple[int, str | None]]


@dataclass(frozen=True)
class Selected:
    """A selected person with the probability of each stage (None: the draw had no village stage)."""

    entry_id: int
    cluster_probability: float | None
    within_probability: float

    @property
    def probability(self) -> float:
        """The person's probability of selection: the product of the stages."""
        return (self.cluster_probability or 1.0) * self.within_probability


@dataclass(frozen=True)
class StratumPlan:
    """What the draw does in one stratum."""

    stratum_id: int
    code: str
    population: int
    census: bool
    selected: tuple[Selected, ...]
    margin: float  # expected margin of error of a proportion at 95% (0 for a census)
    clusters_total: int | None = None  # villages in the stratum (None: no village stage)
    clusters_drawn: int | None = None
    certainty: int = 0  # villages taken with certainty

    @property
    def sample_size(self) -> int:
        """How many people are selected."""
        return len(self.selected)

    def summary(self) -> dict:
        """One stratum's line of the draw's record."""
        return {"code": self.code, "population": self.population, "sample": self.sample_size,
                "census": self.census, "margin": round(self.margin, 6), "clusters_total": self.clusters_total,
                "clusters_drawn": self.clusters_drawn, "certainty": self.certainty}


@dataclass(frozen=True)
class Plan:
    """A whole draw: the parameters, the seed and each stratum's selection."""

    parameters: DrawParameters
    seed: int
    strata: tuple[StratumPlan, ...] = field(default_factory=tuple)

    @property
    def population(self) -> int:
        """People in the strata drawn."""
        return sum(s.population for s in self.strata)

    @property
    def selected(self) -> int:
        """People selected."""
        return sum(s.sample_size for s in self.strata)

    @property
    def clusters(self) -> int | None:
        """Villages drawn over all strata (None without a village stage)."""
        drawn = [s.clusters_drawn for s in self.strata if s.clusters_drawn is not None]
        return sum(drawn) if drawn else None


def new_seed() -> int:
    """A fresh seed for a draw (nine digits, easy to copy into a report or a command)."""
    return secrets.randbelow(10**9)


def check_seed(seed: int) -> int:
    """Return the seed, or raise WaveError when it cannot be stored or used."""
    if not 0 <= seed < SEED_LIMIT:
        raise WaveError(f"draw: the seed must lie between 0 and {SEED_LIMIT - 1}", "draw_parameters",
                        field="seed")
    return seed


def sample_size(population: int, margin: float, p: float = 0.5, deff: float = 1.0,
                formula: str = "cochran") -> int:
    """People needed for a proportion's 95% margin of error in a population (Cochran, with fpc).

    n0 = z² p (1 - p) deff / e², then n = n0 / (1 + (n0 - 1) / N), rounded up, at most N.
    `yamane` is the simplified rule of the SIPAS method (QĐ 1001/QĐ-BNV): n = N / (1 + N e²), times
    the design effect (z taken as 2, p as 0.5).
    """
    if formula == "yamane":
        n = deff * population / (1 + population * margin * margin)
        return max(1, min(population, math.ceil(n - 1e-9)))
    n0 = Z95 * Z95 * p * (1 - p) * deff / (margin * margin)
    n = n0 / (1 + (n0 - 1) / population)
    return max(1, min(population, math.ceil(n - 1e-9)))


def margin_of_error(population: int, n: int, p: float = 0.5, deff: float = 1.0) -> float:
    """The 95% margin of error of a proportion from n people of N (with fpc); 0 for a census."""
    if n >= population:
        return 0.0
    return Z95 * math.sqrt(deff * p * (1 - p) / n * (population - n) / (population - 1))


def _stream(seed: int, code: str) -> np.random.Generator:
    """The random stream of one stratum: from the seed and the stratum's code only."""
    return np.random.default_rng([seed, zlib.crc32(code.encode("utf-8"))])


def _systematic(sizes: Sequence[int], k: int, rng: np.random.Generator) -> list[int]:
    """Positions hit by k equally spaced points from a random start along units of these sizes.

    Exact integer arithmetic: on a line where unit i spans k times its size, the points are
    start + j * total (start uniform in 0 .. total - 1), so unit i is hit with probability
    k * size_i / total, at most once when k * size_i <= total.
    """
    total = sum(sizes)
    start = int(rng.integers(total))
    bounds = np.cumsum(np.asarray(sizes, dtype=np.int64)) * k
    points = start + np.arange(k, dtype=np.int64) * total
    return sorted({int(i) for i in np.searchsorted(bounds, points, side="right")})


def _pick(count: int, n: int, method: str, rng: np.random.Generator) -> list[int]:
    """n of count positions, by simple random sampling or systematically (each with probability n / count)."""
    if n >= count:
        return list(range(count))
    if method == "systematic":
        return _systematic([1] * count, n, rng)
    return sorted(int(i) for i in rng.choice(count, size=n, replace=False))


def pps_clusters(sizes: dict[str, int], k: int, rng: np.random.Generator) -> dict[str, Fraction]:
    """Draw k villages with probability proportional to size (systematic PPS, in code order).

    Returns the villages drawn and their inclusion probabilities: 1 for a village taken with
    certainty (its size at least the interval, found again after each removal), k' * size / total of
    the others (k' villages drawn among them).
    """
    codes = sorted(sizes)
    certain: set[str] = set()
    while True:
        rest = [c for c in codes if c not in certain]
        wanted = k - len(certain)
        if wanted >= len(rest):
            certain.update(rest)
            rest, wanted = [], 0
        if not rest:
            break
        total = sum(sizes[c] for c in rest)
        big = {c for c in rest if wanted * sizes[c] >= total}
        if not big:
            break
        certain |= big
    chosen = {c: Fraction(1) for c in certain}
    if rest and wanted > 0:
        total = sum(sizes[c] for c in rest)
        for i in _systematic([sizes[c] for c in rest], wanted, rng):
            chosen[rest[i]] = Fraction(wanted * sizes[rest[i]], total)
    return chosen


def _stratum_plan(stratum: FrameStratum, params: DrawParameters, seed: int) -> StratumPlan:
    """Draw one stratum."""
    population = len(stratum.entries)
    if stratum.census:
        return StratumPlan(stratum.id, stratum.code, population, True,
                           tuple(Selected(i, None, 1.0) for i, _ in stratum.entries), 0.0)
    rng = _stream(seed, stratum.code)
    wanted = params.size if params.size is not None else (
        sample_size(population, params.margin, params.p, params.deff, params.formula)
        if params.margin is not None else None)
    if params.per_cluster is None:
        n = min(wanted, population)
        ordered = sorted(stratum.entries, key=lambda e: (e[1] or "", e[0])) \
            if params.method == "systematic" else list(stratum.entries)
        chosen = _pick(population, n, params.method, rng)
        probability = n / population
        return StratumPlan(stratum.id, stratum.code, population, False,
                           tuple(Selected(ordered[i][0], None, probability) for i in chosen),
                           margin_of_error(population, n, params.p, params.deff))
    villages: dict[str, list[int]] = {}
    for entry_id, cluster in stratum.entries:
        if not cluster:
            raise WaveError(f"draw: stratum {stratum.code} has people without a village code",
                            "draw_no_cluster", stratum=stratum.code)
        villages.setdefault(cluster, []).append(entry_id)
    k = params.clusters if params.clusters is not None else math.ceil(wanted / params.per_cluster)
    drawn = pps_clusters({c: len(people) for c, people in villages.items()}, k, rng)
    selected = []
    for cluster in sorted(drawn):
        people = villages[cluster]
        m = min(params.per_cluster, len(people))
        within = m / len(people)
        selected += [Selected(people[i], float(drawn[cluster]), within)
                     for i in _pick(len(people), m, params.method, rng)]
    return StratumPlan(stratum.id, stratum.code, population, False, tuple(selected),
                       margin_of_error(population, len(selected), params.p, params.deff),
                       clusters_total=len(villages), clusters_drawn=len(drawn),
                       certainty=sum(1 for p in drawn.values() if p == 1))


def plan(strata: Sequence[FrameStratum], params: DrawParameters, seed: int) -> Plan:
    """Draw every stratum (pure: nothing is read or written; same input and seed, same selection)."""
    params.check()
    check_seed(seed)
    return Plan(params, seed, tuple(_stratum_plan(s, params, seed) for s in strata if s.entries))


def strata_in_scope(session: Session, wave: Wave, scope: set[int] | None = None,
                    groups: set[str] | None = None) -> list[Stratum]:
    """The wave's strata with people in the frame, of the user's units (and of some groups), by code."""
    people = select(FrameEntry.id).where(FrameEntry.stratum_id == Stratum.id).exists()
    query = select(Stratum).where(Stratum.wave_id == wave.id, people).order_by(Stratum.code)
    if scope is not None:
        query = query.where(Stratum.unit_id.in_(scope))
    if groups:
        query = query.where(Stratum.group_id.in_(
            select(RespondentGroup.id).where(RespondentGroup.code.in_(groups))))
    return list(session.scalars(query))


def frame_strata(session: Session, strata: Sequence[Stratum]) -> list[FrameStratum]:
    """Read the strata's people (ids and village codes, in frame order; no contact details)."""
    ids = [s.id for s in strata]
    official = set(session.scalars(select(RespondentGroup.id).filter_by(kind="official")))
    entries: dict[int, list[tuple[int, str | None]]] = {i: [] for i in ids}
    for stratum_id, entry_id, cluster in session.execute(
            select(FrameEntry.stratum_id, FrameEntry.id, FrameEntry.cluster_code)
            .where(FrameEntry.stratum_id.in_(ids)).order_by(FrameEntry.id)):
        entries[stratum_id].append((entry_id, cluster))
    return [FrameStratum(s.id, s.code, s.group_id in official, entries[s.id]) for s in strata]


def _refuse_invited(session: Session, wave: Wave, strata: Sequence[Stratum]) -> None:
    """Refuse a draw of strata for which invitations were made already."""
    ids = [s.id for s in strata]
    invited = session.scalar(
        select(func.count()).select_from(Invitation).where(
            Invitation.wave_id == wave.id,
            or_(Invitation.stratum_id.in_(ids),
                Invitation.frame_entry_id.in_(select(FrameEntry.id).where(FrameEntry.stratum_id.in_(ids))))))
    if invited:
        raise WaveError(f"wave {wave.code}: {invited} invitation(s) were made for these strata; "
                        "the sample can no longer be drawn again", "draw_invited", count=invited)


def preview(session: Session, wave: Wave, params: DrawParameters, seed: int,
            scope: set[int] | None = None, groups: set[str] | None = None) -> Plan:
    """Plan the draw of the wave's strata in scope without writing anything (refused as `draw` would be)."""
    _editable(wave)
    params.check()
    strata = strata_in_scope(session, wave, scope, groups)
    if not strata:
        raise WaveError(f"wave {wave.code}: no stratum with people in the frame to draw", "draw_nothing")
    _refuse_invited(session, wave, strata)
    return plan(frame_strata(session, strata), params, seed)


def draw(session: Session, wave: Wave, params: DrawParameters, seed: int, user=None,
         scope: set[int] | None = None, groups: set[str] | None = None) -> tuple[Draw, Plan]:
    """Draw and store the sample of the wave's strata in scope, replacing an earlier draw of them.

    Refused unless the wave is a draft and no invitation was made for these strata. Flushes; the
    caller commits (and audits).
    """
    planned = preview(session, wave, params, seed, scope, groups)
    drawn_ids = [s.stratum_id for s in planned.strata]
    record = Draw(wave_id=wave.id, method=params.method,
                  parameters=params.as_json() | {"order": ORDER, "z": Z95, "groups": sorted(groups or [])},
                  seed=seed, drawn_by=user.id if user is not None else None,
                  strata_count=len(planned.strata), population=planned.population,
                  selected=planned.selected, clusters=planned.clusters,
                  strata=[s.summary() for s in planned.strata])
    session.add(record)
    session.flush()
    session.execute(update(FrameEntry).where(FrameEntry.stratum_id.in_(drawn_ids),
                                             or_(FrameEntry.selection_probability.is_not(None),
                                                 FrameEntry.draw_id.is_not(None)))
                    .values(selection_probability=None, cluster_probability=None, within_probability=None,
                            draw_id=None).execution_options(synchronize_session=False))
    # One UPDATE per set of equal probabilities (a stratum, or a village of it), in chunks of ids:
    # far fewer statements than one per person.
    alike: dict[tuple[float | None, float], list[int]] = {}
    for stratum in planned.strata:
        for s in stratum.selected:
            alike.setdefault((s.cluster_probability, s.within_probability), []).append(s.entry_id)
    for (cluster_p, within_p), entry_ids in alike.items():
        for start in range(0, len(entry_ids), CHUNK):
            session.execute(update(FrameEntry).where(FrameEntry.id.in_(entry_ids[start:start + CHUNK]))
                            .values(selection_probability=(cluster_p or 1.0) * within_p,
                                    cluster_probability=cluster_p, within_probability=within_p,
                                    draw_id=record.id).execution_options(synchronize_session=False))
    sizes = {s.stratum_id: s for s in planned.strata}
    for stratum in session.scalars(select(Stratum).where(Stratum.id.in_(drawn_ids))):
        stratum.population_size = sizes[stratum.id].population
        stratum.sample_size = sizes[stratum.id].sample_size
    session.flush()
    return record, planned
