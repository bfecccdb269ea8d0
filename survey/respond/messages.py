"""Answer errors in the respondent's language."""

from flask_babel import gettext as _

from survey.definitions.engine import page_items
from survey.definitions.model import Section


def _text(code: str, params: dict) -> str:
    """Translate one error code."""
    texts = {
        "required": lambda: _("Vui lòng trả lời câu hỏi này."),
        "not_number": lambda: _("Vui lòng nhập một số, ví dụ 25 hoặc 2,5."),
        "not_whole": lambda: _("Vui lòng nhập một số nguyên."),
        "below_min": lambda: _("Giá trị phải từ %(min)s trở lên.", **params),
        "above_max": lambda: _("Giá trị không được lớn hơn %(max)s.", **params),
        "too_long": lambda: _("Nội dung quá dài (tối đa %(max)s ký tự).", **params),
        "not_date": lambda: _("Vui lòng nhập ngày theo dạng ngày/tháng/năm, ví dụ 25/11/2025."),
        "date_before": lambda: _("Ngày phải từ %(min)s trở đi.", **params),
        "date_after": lambda: _("Ngày không được sau %(max)s.", **params),
        "unknown_option": lambda: _("Lựa chọn không hợp lệ; vui lòng chọn lại."),
        "too_few": lambda: _("Vui lòng chọn ít nhất %(min)s phương án.", **params),
        "too_many": lambda: _("Vui lòng chọn nhiều nhất %(max)s phương án.", **params),
        "control_character": lambda: _("Nội dung có ký tự điều khiển không được phép (%(char)s).",
                                       **params),
    }
    return texts.get(code, lambda: _("Câu trả lời không hợp lệ."))()


def choice_rule(item) -> str | None:
    """Say how many options a multiple choice takes, from its `min` and `max` ("Chọn từ 1 đến 2
    phương án."), on the phone's page and on the paper form alike; None when it says nothing (or
    when a bound is an expression, known only as the person answers)."""
    if item.type != "multiple_choice":
        return None
    low, high = _count(item.min), _count(item.max)
    if low and high:
        if low == high:
            return _("Chọn đúng %(count)s phương án.", count=low)
        return _("Chọn từ %(min)s đến %(max)s phương án.", min=low, max=high)
    if high:
        return _("Chọn tối đa %(max)s phương án.", max=high)
    if low and low > 1:  # at least one is what "multiple choice" already says
        return _("Chọn ít nhất %(min)s phương án.", min=low)
    return None


def _count(bound) -> int | None:
    """A fixed bound of a multiple choice as a whole number (None for none or an expression)."""
    return int(bound) if isinstance(bound, int | float) and not isinstance(bound, bool) else None


def error_messages(section: Section, errors: dict, language: str) -> dict[str, str]:
    """Return item id -> message, in page order; constraints use the item's own message."""
    found = {}
    for item in page_items(section):
        error = errors.get(item.id)
        if error is None:
            continue
        if error.code == "constraint" and item.constraint_message:
            found[item.id] = item.constraint_message.get(language)
        elif error.code == "required" and item.other_of:
            found[item.id] = other_required()
        else:
            found[item.id] = _text(error.code, error.params)
    return found


def other_required() -> str:
    """Say that choosing "Khác" asks for what it is (an "other, please specify" text left empty)."""
    return _("Ông/Bà đã chọn «Khác»: xin ghi rõ đó là gì vào ô bên dưới, hoặc bỏ chọn «Khác».")


def script_messages() -> dict[str, str]:
    """Return the error texts the page script shows, with %(min)s-style placeholders kept."""
    codes = ("required", "not_number", "not_whole", "below_min", "above_max", "too_long",
             "not_date", "unknown_option", "too_few", "too_many", "constraint")
    placeholders = {"min": "%(min)s", "max": "%(max)s"}
    found = {code: _text(code, placeholders) for code in codes}
    found["summary"] = _("Có câu cần sửa")
    found["other_required"] = other_required()
    return found
