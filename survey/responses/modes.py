"""How a response was collected, named for staff pages (one vocabulary: responses.models.MODES)."""

from flask_babel import lazy_gettext as _l

MODE_LABELS = {"online": _l("Trực tuyến"), "paper": _l("Phiếu giấy"), "phone": _l("Phỏng vấn qua điện thoại"),
               "face_to_face": _l("Phỏng vấn trực tiếp")}
ENTRY_MODES = ("paper", "phone", "face_to_face")  # what a clerk enters


def mode_label(mode: str) -> str:
    """The Vietnamese (or translated) name of a response mode."""
    return str(MODE_LABELS.get(mode, mode))
