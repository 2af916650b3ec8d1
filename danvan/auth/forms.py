from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from danvan.forms import BaseForm


class LoginForm(BaseForm):
    username = StringField(
        "Tên đăng nhập", validators=[DataRequired("Vui lòng nhập tên đăng nhập.")]
    )
    password = PasswordField("Mật khẩu", validators=[DataRequired("Vui lòng nhập mật khẩu.")])
    remember = BooleanField("Ghi nhớ đăng nhập")


class ChangePasswordForm(BaseForm):
    current = PasswordField("Mật khẩu hiện tại", validators=[DataRequired("Vui lòng nhập.")])
    new = PasswordField(
        "Mật khẩu mới",
        validators=[
            DataRequired("Vui lòng nhập mật khẩu mới."),
            Length(min=8, message="Mật khẩu mới phải có ít nhất 8 ký tự."),
        ],
    )
    confirm = PasswordField(
        "Nhập lại mật khẩu mới",
        validators=[EqualTo("new", message="Hai lần nhập mật khẩu mới không khớp.")],
    )


class SignatureForm(BaseForm):
    pass
