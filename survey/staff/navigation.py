"""The staff navigation bar: the staff pages the logged-in user's roles allow, from each view's declaration.

Nothing is copied by hand: an entry is shown when the endpoint exists and the roles its view declares
(`roles_required`, survey/auth/access.py) include one the user holds. Respondent pages never show it.
"""

from flask import Flask, current_app, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from survey.auth.access import STAFF_PREFIX

# (endpoint, label) in the order shown.
ENTRIES = (
    ("staff.home", _l("Trang chủ")),
    ("waves.index", _l("Đợt khảo sát")),
    ("focal.index", _l("Đầu mối")),
    ("entry.index", _l("Nhập phiếu")),
    ("dashboard.index", _l("Phân tích")),
    ("overall.index", _l("Chỉ số tổng hợp")),
    ("instruments.index", _l("Bảng hỏi")),
    ("jobs.index", _l("Công việc")),
    ("frameworks.index", _l("Khung chỉ số")),
    ("users.index", _l("Tài khoản cán bộ")),
    ("tokens.index", _l("Mã truy cập API")),
    ("assessment.index", _l("Tự đánh giá")),
)


def may_use(endpoint: str, user=None) -> bool:
    """Tell whether the user (the logged-in one by default) may open a staff endpoint."""
    user = user if user is not None else current_user
    view = current_app.view_functions.get(endpoint)
    roles = getattr(view, "access_roles", None)
    if roles is None:
        return False
    if roles == "public":
        return True
    return bool(user.is_authenticated) and user.has_role(*roles)


def staff_navigation() -> list[tuple[str, str, bool]]:
    """Return (endpoint, label, current) for each page the user may open; empty off the staff pages."""
    if not current_user.is_authenticated or not request.path.startswith(STAFF_PREFIX):
        return []
    here = request.blueprint
    return [(endpoint, label, endpoint.split(".")[0] == here) for endpoint, label in ENTRIES
            if may_use(endpoint)]


def init_app(app: Flask) -> None:
    """Offer `staff_navigation()` to every template."""
    app.context_processor(lambda: {"staff_navigation": staff_navigation, "may_use": may_use})
