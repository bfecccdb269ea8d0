"""The coordinator's draw page of a wave: choose how the sample is drawn, preview it, keep it.

Nothing is kept between requests but the form's values and the seed: "preview" plans the draw with
the seed given (or a new one, then shown), and "keep this draw" posts the same values and seed again,
so the draw is re-run and stored exactly as previewed (survey/sampling/draw.py). A coordinator scoped
to some units sees and draws only the strata of those units.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import FloatField, IntegerField, SelectChoice, SelectField, SubmitField
from wtforms.validators import InputRequired, NumberRange, Optional

from survey.auth.access import roles_required
from survey.auth.models import User, record
from survey.db import db
from survey.sampling import draw as drawing
from survey.sampling import service
from survey.sampling.models import Draw, FrameEntry, RespondentGroup, Stratum, Unit
from survey.sampling.views import _named, refusal, wave_or_404

bp = Blueprint("draw", __name__, url_prefix="/staff/waves")
METHOD_NAMES = {"srs": _l("Ngẫu nhiên đơn giản"), "systematic": _l("Hệ thống (khoảng cách đều)")}
FORMULA_NAMES = {"cochran": _l("Cochran: z = 1,96, tỷ lệ dự kiến, hiệu chỉnh tổng thể hữu hạn"),
                 "yamane": _l("n = N/(1 + N·e²) (cách tính của QĐ 1001/QĐ-BNV cho SIPAS)")}
PARAMETERS = ("method", "size", "margin", "formula", "p", "deff", "clusters", "per_cluster", "seed")


class DrawForm(FlaskForm):
    """How to draw: method, sample size or margin of error, optional village stage, seed."""

    method = SelectField(_l("Cách chọn trong mỗi tầng"), validators=[InputRequired()],
                         choices=[SelectChoice(k, v) for k, v in METHOD_NAMES.items()])
    size = IntegerField(_l("Cỡ mẫu mỗi tầng (người)"), validators=[
        Optional(), NumberRange(min=1, message=_l("Cỡ mẫu phải từ 1 trở lên."))])
    margin = FloatField(_l("Hoặc: sai số tối đa (%, độ tin cậy 95%)"), validators=[
        Optional(), NumberRange(min=0.1, max=50, message=_l("Sai số từ 0,1% đến 50%."))])
    formula = SelectField(_l("Cách tính cỡ mẫu từ sai số"), default="cochran",
                          choices=[SelectChoice(k, v) for k, v in FORMULA_NAMES.items()])
    p = FloatField(_l("Tỷ lệ dự kiến (%)"), default=50, validators=[
        Optional(), NumberRange(min=1, max=99, message=_l("Tỷ lệ dự kiến từ 1% đến 99%."))])
    deff = FloatField(_l("Hệ số thiết kế (design effect)"), default=1, validators=[
        Optional(), NumberRange(min=0.1, max=20, message=_l("Hệ số thiết kế từ 0,1 đến 20."))])
    clusters = IntegerField(_l("Số thôn, tổ dân phố được chọn mỗi tầng"), validators=[
        Optional(), NumberRange(min=1, message=_l("Số thôn phải từ 1 trở lên."))])
    per_cluster = IntegerField(_l("Số người chọn trong mỗi thôn"), validators=[
        Optional(), NumberRange(min=1, message=_l("Số người mỗi thôn phải từ 1 trở lên."))])
    seed = IntegerField(_l("Hạt giống ngẫu nhiên (để trống: tạo mới)"), validators=[
        Optional(), NumberRange(min=0, max=drawing.SEED_LIMIT - 1,
                                message=_l("Hạt giống là số nguyên không âm."))])
    preview = SubmitField(_l("Xem trước"))
    keep = SubmitField(_l("Giữ kết quả rút mẫu này"))

    def parameters(self) -> drawing.DrawParameters:
        """The draw's parameters from the form (percentages become proportions)."""
        return drawing.DrawParameters(
            method=self.method.data, size=self.size.data,
            margin=self.margin.data / 100 if self.margin.data is not None else None,
            p=(self.p.data if self.p.data is not None else 50) / 100,
            deff=self.deff.data if self.deff.data is not None else 1.0,
            clusters=self.clusters.data, per_cluster=self.per_cluster.data, formula=self.formula.data)


def _scope() -> set[int] | None:
    """The user's units (None: every unit)."""
    return None if current_user.unit_scope is None else set(current_user.unit_scope)


def _strata(wave, scope: set[int] | None) -> list:
    """The wave's strata of the user's units: people in the frame, population, sample, selected."""
    query = (select(Stratum.id, Stratum.code, Unit.code, Unit.name, Unit.name_en, RespondentGroup.name,
                    RespondentGroup.name_en, RespondentGroup.kind, Stratum.population_size,
                    Stratum.sample_size, func.count(FrameEntry.id),
                    func.count(FrameEntry.selection_probability))
             .outerjoin(Unit, Unit.id == Stratum.unit_id)
             .outerjoin(RespondentGroup, RespondentGroup.id == Stratum.group_id)
             .outerjoin(FrameEntry, FrameEntry.stratum_id == Stratum.id)
             .where(Stratum.wave_id == wave.id)
             .group_by(Stratum.id, Stratum.code, Unit.code, Unit.name, Unit.name_en, RespondentGroup.name,
                       RespondentGroup.name_en, RespondentGroup.kind, Stratum.population_size,
                       Stratum.sample_size)
             .order_by(Stratum.code))
    if scope is not None:
        query = query.where(Stratum.unit_id.in_(scope))
    return db.session.execute(query).all()


def _draws(wave, scope: set[int] | None) -> list:
    """The wave's kept draws (those that selected someone of the user's units), newest first."""
    query = (select(Draw, User.name).outerjoin(User, User.id == Draw.drawn_by)
             .where(Draw.wave_id == wave.id).order_by(Draw.id.desc()))
    if scope is not None:
        query = query.where(Draw.id.in_(
            select(FrameEntry.draw_id).join(Stratum, Stratum.id == FrameEntry.stratum_id)
            .where(Stratum.unit_id.in_(scope))))
    return db.session.execute(query).all()


def _render(wave, form: DrawForm, plan: drawing.Plan | None = None, errors: list[str] | None = None,
            status: int = 200):
    """Render the draw page."""
    scope = _scope()
    strata = _strata(wave, scope)
    return render_template("waves/draw.html", wave=wave, form=form, plan=plan, errors=errors or [],
                           strata=strata, by_id={row[0]: row for row in strata}, draws=_draws(wave, scope),
                           method_names=METHOD_NAMES, parameters=PARAMETERS, named=_named), status


@bp.route("/<code>/draw", methods=["GET", "POST"])
@roles_required("coordinator")
def page(code: str):
    """Show the wave's strata and the draw form; preview a draw, or keep it (re-run with the same seed)."""
    wave = wave_or_404(code)
    if request.method == "GET":
        return _render(wave, DrawForm(formdata=None))
    form = DrawForm()
    if not form.validate_on_submit():
        return _render(wave, form, errors=[_("Xin sửa các ô được đánh dấu bên dưới.")], status=422)
    keep = form.keep.data and form.seed.data is not None
    seed = form.seed.data if form.seed.data is not None else drawing.new_seed()
    form.seed.data, form.seed.raw_data = seed, [str(seed)]
    try:
        if not keep:
            return _render(wave, form, drawing.preview(db.session, wave, form.parameters(), seed, _scope()))
        kept, planned = drawing.draw(db.session, wave, form.parameters(), seed, user=current_user,
                                     scope=_scope())
    except service.WaveError as exc:
        db.session.rollback()
        return _render(wave, form, errors=[refusal(exc)], status=422)
    record(db.session, "wave.drawn", target=f"wave:{wave.code}", user=current_user, draw=kept.id,
           method=kept.method, seed=seed, strata=kept.strata_count, selected=kept.selected)
    db.session.commit()
    flash(_("Đã lưu kết quả rút mẫu: %(selected)s người được chọn trong %(strata)s tầng "
            "(hạt giống %(seed)s).", selected=planned.selected, strata=len(planned.strata), seed=seed),
          "status")
    return redirect(url_for(".page", code=wave.code), 303)
