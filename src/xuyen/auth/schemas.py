"""Auth request and response bodies; password and key hashes never appear in an answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from xuyen.auth.models import ApiKey, Role
from xuyen.auth.passwords import MIN_PASSWORD_LENGTH
from xuyen.auth.service import MAX_PASSWORD_LENGTH, UNSET, UserChanges, is_email_address, normalise_email

Locale = Literal["vi", "en"]


def _email(value: str) -> str:
    email = normalise_email(value)
    if not is_email_address(email):
        raise ValueError("not an e-mail address (expected name@domain.tld)")
    return email


Email = Annotated[str, Field(max_length=320, examples=["lan.nguyen@shop.vn"]), AfterValidator(_email)]
def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_name)]
NewPassword = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]
MAX_ID = 2**31 - 1  # ids are 32-bit; a bigger number is refused up front rather than by the database
StoreId = Annotated[int, Field(gt=0, le=MAX_ID)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignInIn(_In):
    """Credentials for opening a browser session."""

    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class LocaleIn(_In):
    """The language to see the UI in."""

    locale: Locale


class UserCreateIn(_In):
    """A new staff user; a manager's agents go to the manager's store when ``store_id`` is left out."""

    email: Email
    name: Name
    password: NewPassword
    role: Role
    store_id: StoreId | None = None
    locale: Locale | None = None


class UserUpdateIn(_In):
    """The fields to change; leave a field out to keep it, send ``store_id: null`` to unbind the store."""

    name: Name | None = None
    role: Role | None = None
    store_id: StoreId | None = None
    is_active: bool | None = None
    locale: Locale | None = None

    @model_validator(mode="after")
    def _no_null_except_store(self) -> Self:
        nulls = [name for name in self.model_fields_set if name != "store_id" and getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} cannot be null; leave the field out to keep it")
        return self

    def to_changes(self) -> UserChanges:
        """The service's view of this body."""
        return UserChanges(name=self.name, role=self.role, is_active=self.is_active, locale=self.locale,
                           store_id=self.store_id if "store_id" in self.model_fields_set else UNSET)


class ApiKeyCreateIn(_In):
    """A new API key: who uses it, with which role, optionally bound to one store."""

    name: Name
    role: Role
    store_id: StoreId | None = None


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class UserOut(_Out):
    """A staff user as the API shows it."""

    id: int
    email: str
    name: str
    role: Role
    store_id: int | None
    locale: str
    timezone: str
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class MeOut(_Out):
    """The caller: a signed-in user (``kind`` user, with e-mail) or an API key (``kind`` api_key)."""

    kind: Literal["user", "api_key"]
    id: int
    name: str
    email: str | None
    role: Role
    store_id: int | None
    locale: str
    timezone: str


class SessionOut(BaseModel):
    """A new browser session: send ``csrf_token`` as ``X-CSRF-Token`` with every unsafe request."""

    user: UserOut
    csrf_token: str
    expires_at: datetime


class ApiKeyOut(_Out):
    """An API key without the key: its public prefix and what it may do."""

    id: int
    name: str
    prefix: str
    role: Role
    store_id: int | None
    created_by_id: int | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    """A new API key, with the key itself: it is shown this once and cannot be recovered."""

    key: str

    @classmethod
    def of(cls, row: ApiKey, key: str) -> ApiKeyCreatedOut:
        """The answer for a key just created: the row and the key itself."""
        return cls.model_validate({**ApiKeyOut.model_validate(row).model_dump(), "key": key})
