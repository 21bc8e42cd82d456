"""Settings: one class, read from ``XUYEN_*`` environment variables and an optional ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - the development default, refused in production


class InsecureProductionSettings(RuntimeError):
    """Raised when production starts with a development secret."""


class Settings(BaseSettings):
    """Every setting of Xuyên. Each one can be set as ``XUYEN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="XUYEN_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite:///./xuyen.db"
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    # Earlier secret keys, comma-separated: sealed channel secrets saved under them can still be read.
    previous_secret_keys: str = ""

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    log_level: str = "INFO"
    log_json: bool = True
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    serve_workers: int = Field(default=1, gt=0)  # server processes of `xuyen serve`

    # Event ingestion (the Segment-compatible tracking API)
    ingest_max_event_bytes: int = Field(default=32 * 1024, gt=0)
    ingest_max_batch_bytes: int = Field(default=4 * 1024 * 1024, gt=0)
    ingest_max_batch_events: int = Field(default=2500, gt=0)

    # Customer list imports (CSV and Excel)
    customer_import_max_bytes: int = Field(default=50 * 1024 * 1024, gt=0)
    customer_import_batch_rows: int = Field(default=500, gt=0)

    # People
    default_locale: Literal["vi", "en"] = "vi"
    default_timezone: str = "Asia/Ho_Chi_Minh"
    default_currency: str = "VND"

    # Sessions and sign-in
    session_cookie_name: str = "xuyen_session"
    session_max_age_seconds: int = Field(default=14 * 24 * 3600, gt=0)
    login_max_failures: int = Field(default=5, gt=0)
    login_window_seconds: int = Field(default=15 * 60, gt=0)

    # Jobs
    worker_poll_seconds: float = Field(default=0.5, gt=0)
    worker_batch_size: int = Field(default=50, gt=0)
    job_lease_seconds: float = Field(default=60.0, gt=0)
    job_max_attempts: int = Field(default=8, gt=0)
    job_backoff_base_seconds: float = Field(default=2.0, gt=0)
    job_backoff_max_seconds: float = Field(default=3600.0, gt=0)
    job_keep_done_days: int = Field(default=7, ge=0)

    # Customers
    # Which channels win for a trait, best first; a trait not listed, or a channel not in its list, goes by
    # "newest wins". Names, birthdays and genders typed by store clerks or sent by the brand's own systems
    # (api) beat those of marketplaces, whose buyer names are often nicknames or masked.
    trait_precedence: dict[str, list[str]] = Field(default_factory=lambda: {
        trait: ["pos", "api"] for trait in ("name", "firstName", "lastName", "first_name", "last_name", "birthday",
                                            "gender")})
    preferred_channel_days: int = Field(default=180, gt=0)
    # The salt of erased people's identifier hashes; derived from the secret key when empty. Set it once and
    # keep it: with another salt, erased people are no longer recognised.
    privacy_salt: SecretStr = SecretStr("")
    # Duplicate detection: pairs scoring at least the first are suggested for review; pairs scoring at least the
    # second are merged without review (off unless set, e.g. 0.999).
    duplicates_min_score: float = Field(default=0.9, gt=0, lt=1)
    duplicates_auto_merge_score: float | None = Field(default=None, gt=0, le=1)

    # Inbox
    # The largest webhook body accepted from a channel provider (Meta caps theirs well below this).
    webhook_max_bytes: int = Field(default=1_048_576, gt=0)
    # A customer who writes again within this many days after their conversation was resolved reopens it;
    # later, a new conversation starts.
    inbox_reopen_days: int = Field(default=7, ge=0)
    # How many open conversations an agent is given at most, unless their own capacity is set.
    inbox_agent_capacity: int = Field(default=5, ge=1, le=1000)
    # The shop's name in canned responses ({{ten_cua_hang}}) for agents who belong to no store.
    inbox_shop_name: str = ""

    # Payments: VNPay (the merchant's terminal code and hash secret from VNPay; the payment page's address, the
    # sandbox's by default; where VNPay sends the customer back after paying)
    vnpay_tmn_code: str = ""
    vnpay_hash_secret: SecretStr = SecretStr("")
    vnpay_payment_url: str = "https://sandbox.vnpayment.vn/paymentv2/vpcpay.html"
    vnpay_return_url: str = ""
    # MoMo (the partner code, access key and secret key from MoMo; the create endpoint, the sandbox's by default;
    # our IPN address, https://<host>/payments/momo/ipn; where MoMo sends the customer back after paying)
    momo_partner_code: str = ""
    momo_access_key: str = ""
    momo_secret_key: SecretStr = SecretStr("")
    momo_endpoint: str = "https://test-payment.momo.vn/v2/gateway/api/create"
    momo_ipn_url: str = ""
    momo_redirect_url: str = ""
    # ZaloPay (the app id, key1 and key2 from ZaloPay; the create endpoint, the sandbox's by default; our callback
    # address, https://<host>/payments/zalopay/callback; where ZaloPay sends the customer back after paying)
    zalopay_app_id: str = ""
    zalopay_key1: SecretStr = SecretStr("")
    zalopay_key2: SecretStr = SecretStr("")
    zalopay_endpoint: str = "https://sb-openapi.zalopay.vn/v2/create"
    zalopay_callback_url: str = ""
    zalopay_redirect_url: str = ""

    # Leads
    # Check each new lead's e-mail domain for mail exchangers (MX records); off: every domain is "unknown".
    leads_check_mx: bool = True
    leads_mx_timeout_seconds: float = Field(default=1.5, gt=0, le=30)
    # A nameserver to ask instead of the system's (host or host:port), e.g. a local resolver.
    leads_mx_nameserver: str = ""
    # A lead still "new" with no activity for this many hours is given to someone else (0: never).
    leads_reassign_after_hours: float = Field(default=24.0, ge=0)
    # How many open leads (new, contacted, qualified) a salesperson is given at most by assignment.
    leads_capacity_per_user: int = Field(default=50, ge=1, le=100_000)
    # Website lead forms: the fastest a person fills a form, how long a form token lasts, submissions per minute
    # from one address.
    leads_form_min_seconds: float = Field(default=2.0, ge=0)
    leads_form_token_max_age_seconds: int = Field(default=86_400, gt=0)
    leads_form_rate_per_minute: int = Field(default=20, ge=1)

    # Demo
    demo_seed: int = 2026

    @property
    def previous_secret_key_list(self) -> list[str]:
        return [key.strip() for key in self.previous_secret_keys.split(",") if key.strip()]

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def insecure_defaults(self) -> list[str]:
        """Names of the secrets that still carry their development default."""
        insecure = []
        if self.secret_key.get_secret_value() == DEV_SECRET_KEY or len(self.secret_key.get_secret_value()) < 32:
            insecure.append("XUYEN_SECRET_KEY")
        return insecure

    def check_production_ready(self) -> None:
        """Refuse to run in production while a secret still has its development default."""
        if not self.is_production:
            return
        insecure = self.insecure_defaults()
        if insecure:
            names = ", ".join(insecure)
            raise InsecureProductionSettings(
                f"XUYEN_ENV=production but {names} still has its development default (or is shorter than "
                f"32 characters). Set it to a long random value, e.g. `python -c 'import secrets; "
                f"print(secrets.token_urlsafe(48))'`, and start again."
            )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
