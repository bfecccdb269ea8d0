"""Error pages: respondents read the respondent's wording, staff (pages under /staff/) the staff's."""

from flask import Flask, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from survey import requestlog
from survey.api import is_api_request, json_error


def _page(title: str, message: str, status: int, staff_message: str | None = None):
    """Render an error page with its status code (JSON for the API); staff pages say `staff_message`."""
    if is_api_request():
        return json_error(status)
    staff = staff_message is not None and is_staff_request()
    return render_template("errors/error.html", title=title, message=staff_message if staff else message,
                           request_id=requestlog.request_id() if staff else None,
                           home_url=url_for("staff.home") if staff else None), status


def is_staff_request() -> bool:
    """Tell whether the request is for a staff page (under /staff/)."""
    return request.path == "/staff" or request.path.startswith("/staff/")


def _other(error: HTTPException):
    """The API answers every other error (401, 405, 422 ...) as JSON; pages keep werkzeug's answer."""
    return json_error(error) if is_api_request() else error


def _csrf_failed(_error):
    """Explain an expired or missing form token and offer to reload the page (nothing is lost)."""
    return render_template(
        "errors/error.html", title=_("Phiên làm việc đã hết hạn"),
        message=_("Phiên làm việc đã hết hạn. Vui lòng tải lại trang và gửi lại; "
                  "câu trả lời đã lưu không bị mất."),
        retry_url=request.path,
    ), 400


def register(app: Flask) -> None:
    """Attach the error handlers."""
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(HTTPException, _other)
    app.register_error_handler(403, lambda e: _page(
        _("Không có quyền truy cập"), _("Tài khoản của Ông/Bà không được phép xem trang này."), 403,
        _("Vai trò của tài khoản này không được dùng trang này, hoặc đơn vị không thuộc phạm vi được giao. "
          "Liên hệ quản trị viên nếu cần thêm quyền.")))
    app.register_error_handler(404, lambda e: _page(
        _("Không tìm thấy trang"),
        _("Đường link không đúng hoặc đã hết hiệu lực. Vui lòng kiểm tra lại tin nhắn mời."), 404,
        _("Không có trang hoặc mục này: đường dẫn không đúng, hoặc mục đã bị xóa hay không thuộc phạm vi "
          "của tài khoản. Quay lại trang cán bộ để chọn lại.")))
    app.register_error_handler(413, lambda e: _page(
        _("Dữ liệu gửi lên quá lớn"), _("Tệp hoặc biểu mẫu gửi lên vượt quá giới hạn cho phép."), 413))
    app.register_error_handler(429, lambda e: _page(
        _("Quá nhiều yêu cầu"), _("Vui lòng chờ một phút rồi thử lại."), 429))
    app.register_error_handler(500, lambda e: _page(
        _("Đã có lỗi"), _("Hệ thống gặp lỗi. Câu trả lời đã lưu không bị mất; vui lòng thử lại sau."),
        500, _("Hệ thống gặp lỗi nên thao tác vừa rồi chưa được lưu. Vui lòng thử lại; nếu vẫn lỗi, "
               "báo mã yêu cầu dưới đây cho quản trị viên.")))
