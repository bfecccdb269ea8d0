"""Units, respondent groups, waves with their strata, the sampling frame and invitations."""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.db import Base

# A two-tier state since 1/7/2025: province, its agencies, communes / wards / special zones.
# District stays as a kind so that units dissolved in 2025 can still be predecessors.
UNIT_KINDS = ("province", "agency", "district", "commune", "ward", "special_zone")
GROUP_KINDS = ("official", "citizen", "organisation")
WAVE_STATUSES = ("draft", "open", "closed")
INVITATION_STATUSES = ("pending", "started", "completed")
INVITATION_SOURCES = ("frame", "open")  # sampled from the frame, or self-made from an open link
UNIT_PROGRESS = ("not_started", "in_progress", "done")
LANGUAGES = ("vi", "en")
DRAW_METHODS = ("srs", "systematic")


def _in(column: str, values: tuple[str, ...]) -> str:
    """Render a CHECK clause that keeps a column within a fixed vocabulary."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Unit(Base):
    """An administrative unit: the province, a provincial agency or a commune-level unit."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(_in("kind", UNIT_KINDS), name="kind"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)

    parent: Mapped["Unit | None"] = relationship(remote_side=[id])
    predecessors: Mapped[list["Unit"]] = relationship(
        secondary="unit_predecessors",
        primaryjoin="Unit.id == UnitPredecessor.unit_id",
        secondaryjoin="Unit.id == UnitPredecessor.predecessor_id",
        viewonly=True,
    )

    def valid_on(self, day: date) -> bool:
        """Tell whether the unit existed on the given day."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class UnitPredecessor(Base):
    """A unit that was merged into, renamed to or split into another (the 2025 reorganisation)."""

    __tablename__ = "unit_predecessors"
    __table_args__ = (CheckConstraint("unit_id <> predecessor_id", name="not_self"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class RespondentGroup(Base):
    """A group of respondents: HĐND delegates, agency leaders, commune leaders, citizens, ..."""

    __tablename__ = "respondent_groups"
    __table_args__ = (CheckConstraint(_in("kind", GROUP_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(20))


class Wave(Base):
    """A survey wave (đợt khảo sát) of one year."""

    __tablename__ = "waves"
    __table_args__ = (
        CheckConstraint(_in("status", WAVE_STATUSES), name="status"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
        CheckConstraint("closes_on >= opens_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    name_en: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    # Paper forms are entered twice, by two clerks, and the differences resolved (survey/entry).
    double_entry: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Whom respondents contact (the organiser's hotline and e-mail), shown on landing and error pages.
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(255))

    groups: Mapped[list["WaveGroup"]] = relationship(back_populates="wave")
    strata: Mapped[list["Stratum"]] = relationship(back_populates="wave")

    def is_open_on(self, day: date) -> bool:
        """Tell whether respondents may answer on the given day."""
        return self.status == "open" and self.opens_on <= day <= self.closes_on


class WaveGroup(Base):
    """Which questionnaire version a respondent group answers in a wave, and its open link."""

    __tablename__ = "wave_groups"
    __table_args__ = (
        UniqueConstraint("wave_id", "group_id"),
        CheckConstraint("open_quota IS NULL OR open_quota > 0", name="open_quota"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("respondent_groups.id"))
    questionnaire_version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"))
    # Walk-in respondents (a poster at a one-stop shop): an open link, closed per unit at a quota.
    open_link: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    open_quota: Mapped[int | None] = mapped_column(Integer)

    wave: Mapped[Wave] = relationship(back_populates="groups")
    group: Mapped[RespondentGroup] = relationship()
    questionnaire_version: Mapped["QuestionnaireVersion"] = relationship()  # noqa: F821


class WaveUnit(Base):
    """A unit assessed in a wave."""

    __tablename__ = "wave_units"

    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)


class Stratum(Base):
    """A sampling stratum of a wave with its population and sample sizes (for design weights)."""

    __tablename__ = "strata"
    __table_args__ = (
        UniqueConstraint("wave_id", "code"),
        CheckConstraint("population_size >= 1", name="population"),
        CheckConstraint("sample_size >= 0 AND sample_size <= population_size", name="sample"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("respondent_groups.id"))
    population_size: Mapped[int] = mapped_column(Integer)
    sample_size: Mapped[int] = mapped_column(Integer)

    wave: Mapped[Wave] = relationship(back_populates="strata")


class FrameEntry(Base):
    """A person in the sampling frame: the only place where contact details are kept.

    Name, phone, e-mail and position hold ciphertext (survey/sampling/crypto.py; rows from before
    migration 0005 may still hold plaintext until `flask waves frame-encrypt`). The digests, keyed
    hashes of the normalised phone number (E.164) and lower-cased e-mail address, find the same
    person twice in a wave without decrypting.
    """

    __tablename__ = "frame_entries"
    __table_args__ = (
        CheckConstraint(
            "selection_probability IS NULL OR "
            "(selection_probability > 0 AND selection_probability <= 1)",
            name="probability",
        ),
        UniqueConstraint("wave_id", "phone_digest"),
        UniqueConstraint("wave_id", "email_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    stratum_id: Mapped[int] = mapped_column(ForeignKey("strata.id"), index=True)
    cluster_code: Mapped[str | None] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    position: Mapped[str | None] = mapped_column(Text)
    phone_digest: Mapped[str | None] = mapped_column(String(64))
    email_digest: Mapped[str | None] = mapped_column(String(64))
    workplace_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # A person is in the sample iff selection_probability is not NULL: the product of the stage
    # probabilities below (cluster_probability NULL when the draw had no cluster stage).
    selection_probability: Mapped[float | None] = mapped_column(Float)
    cluster_probability: Mapped[float | None] = mapped_column(Float)
    within_probability: Mapped[float | None] = mapped_column(Float)
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draws.id"), index=True)


class Draw(Base):
    """How a wave's sample was drawn (survey/sampling/draw.py): method, parameters, seed, who, when.

    `strata` keeps one summary per stratum drawn (code, population, sample, clusters, margin of
    error), so that a report can say how the sample was drawn; the selected people point here.
    """

    __tablename__ = "draws"
    __table_args__ = (CheckConstraint(_in("method", DRAW_METHODS), name="method"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(12))
    parameters: Mapped[dict] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(BigInteger)
    drawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    strata_count: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    selected: Mapped[int] = mapped_column(Integer)
    clusters: Mapped[int | None] = mapped_column(Integer)
    strata: Mapped[list] = mapped_column(JSON)


class Invitation(Base):
    """A personal link to a wave; it records progress, never which response it produced."""

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(_in("status", INVITATION_STATUSES), name="status"),
        CheckConstraint(_in("source", INVITATION_SOURCES), name="source"),
        CheckConstraint(_in("language", LANGUAGES), name="language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("waves.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("respondent_groups.id"))
    frame_entry_id: Mapped[int | None] = mapped_column(ForeignKey("frame_entries.id"))
    stratum_id: Mapped[int | None] = mapped_column(ForeignKey("strata.id"))
    cluster_code: Mapped[str | None] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    language: Mapped[str] = mapped_column(String(2), default="vi")
    status: Mapped[str] = mapped_column(String(10), default="pending")
    source: Mapped[str] = mapped_column(String(10), default="frame", server_default="frame")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The link can be made again from this random salt and the app's TOKEN_KEY (survey/sampling/
    # invitations.py); without the key the salt gives nothing. NULL: a token that cannot be re-made
    # (open links, the demo's printed links, invitations from before migration 0009).
    link_salt: Mapped[str | None] = mapped_column(String(32))
    # E-mails sent (the invitation, then reminders) and when the last one went; opt-out from a link.
    sent_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opted_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The day the link was first opened (the landing page): fieldwork tracking counts opened links.
    # A day, not a time: nothing here may be matched to a response's submission.
    opened_on: Mapped[date | None] = mapped_column(Date)
    # A link rating several units asks the respondent-profile pages (sections marked `once`) in one
    # unit's pages only: this unit's, set when they are first saved (survey/respond/answering.py).
    # A unit id, never an answer.
    profile_unit_id: Mapped[int | None] = mapped_column(Integer)

    wave: Mapped[Wave] = relationship()
    group: Mapped[RespondentGroup] = relationship()
    stratum: Mapped[Stratum | None] = relationship()
    units: Mapped[list["InvitationUnit"]] = relationship(
        back_populates="invitation", cascade="all, delete-orphan", order_by="InvitationUnit.position"
    )


class InvitationUnit(Base):
    """A unit the invited person rates, with progress: one response per unit."""

    __tablename__ = "invitation_units"
    __table_args__ = (CheckConstraint(_in("status", UNIT_PROGRESS), name="status"),)

    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="not_started")

    invitation: Mapped[Invitation] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()
