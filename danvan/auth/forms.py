from wtforms import BooleanField, PasswordField, StringField, ValidationError
from wtforms.validators import DataRequired, EqualTo

from danvan.forms import BaseForm
from danvan.passwords import MIN_LENGTH, check_password_policy


class LoginForm(BaseForm):
    username = StringField(
        "Tên đăng nhập", validators=[DataRequired("Vui lòng nhập tên đăng nhập.")]
    )
    password = PasswordField("Mật khẩu", validators=[DataRequired("Vui lòng nhập mật khẩu.")])
    remember = BooleanField("Ghi nhớ đăng nhập")


class ChangePasswordForm(BaseForm):
    current = PasswordField(
        "Mật khẩu hiện tại", validators=[DataRequired("Vui lòng nhập mật khẩu hiện tại.")]
    )
    new = PasswordField(
        "Mật khẩu mới",
        validators=[DataRequired("Vui lòng nhập mật khẩu mới.")],
        description=(
            f"Ít nhất {MIN_LENGTH} ký tự; không dùng mật khẩu phổ biến và không chứa tên đăng "
            "nhập. Một câu ngắn dễ nhớ là mật khẩu tốt."
        ),
    )
    confirm = PasswordField(
        "Nhập lại mật khẩu mới",
        validators=[EqualTo("new", message="Hai lần nhập mật khẩu mới không khớp.")],
    )

    def __init__(self, *args, username: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.username = username

    def validate_new(self, field) -> None:
        """The password policy (danvan/passwords.py): one message per rule broken."""
        problems = check_password_policy(field.data or "", self.username)
        if problems:
            field.errors.extend(problems[:-1])
            raise ValidationError(problems[-1])


class SignatureForm(BaseForm):
    pass
