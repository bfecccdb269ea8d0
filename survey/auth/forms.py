"""Staff login form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    """E-mail and password."""

    email = EmailField(_l("Thư điện tử"), validators=[DataRequired(), Length(max=255)])
    password = PasswordField(_l("Mật khẩu"), validators=[DataRequired(), Length(max=512)])
