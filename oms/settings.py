"""Settings for the OMS: everything comes from the environment, with development defaults.

Embedded defaults (no server to install): SQLite in WAL mode under var/, and kombu's
filesystem transport as the Celery broker. Set DATABASE_URL (postgres://...) and
CELERY_BROKER_URL (redis://... or amqp://...) to run on real servers.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from oms.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OMS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# The development secret: `manage.py check --deploy` refuses it (oms/checks.py).
DEV_SECRET_KEY = "dev-only-insecure-secret-do-not-use-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_fsm",
    "oms",
    "inventory",
    "orders",
    "fulfillment",
    "returns",
    "notifications",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "oms.urls"
WSGI_APPLICATION = "oms.wsgi.application"
ASGI_APPLICATION = "oms.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_SQLITE_URL = f"sqlite:///{VAR_DIR / 'oms.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _SQLITE_URL), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web process, the worker and beat read while one of them writes;
        # IMMEDIATE takes the write lock up front so concurrent writers wait instead of failing.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# Parallel test runs (helpers, CI) must not share one test database.
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("OMS_MEDIA_ROOT", str(VAR_DIR / "media")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["oms.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["oms.api.permissions.IsMerchant"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "oms.api.pagination.Pagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "oms.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "OMS API",
    "DESCRIPTION": "Order management: capture, inventory, routing, fulfilment, returns.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

# Celery: the broker needs no server by default (kombu's filesystem transport under var/).
_BROKER_DIR = VAR_DIR / "broker"
# kombu warns about a missing host on a bare "filesystem://"; the host means nothing to it.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://localhost//")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for folder in ("broker", "broker-control"):
        (VAR_DIR / folder).mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR),
        "data_folder_out": str(_BROKER_DIR),
        "control_folder": str(VAR_DIR / "broker-control"),
        "store_processed": False,
        # The transport polls its folder; the default (1 s per message) backs up quickly.
        "polling_interval": 0.05,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# Periodic jobs; each app's module adds to this dict (see <app>/schedule.py).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "outbox-sweep": {"task": "oms.tasks.outbox_sweep", "schedule": 15.0},
    "inventory-availability-changes": {"task": "inventory.tasks.availability_changes", "schedule": 5.0},
    "inventory-snapshots-resume": {"task": "inventory.tasks.snapshots_resume", "schedule": 60.0},
    "payments-retry-due": {"task": "orders.payments.tasks.payments_retry_due", "schedule": 15.0},
    "payments-advance-stale": {"task": "orders.payments.tasks.orders_advance_stale", "schedule": 60.0},
    "payments-reauthorize-due": {"task": "orders.payments.tasks.payments_reauthorize_due", "schedule": 3600.0},
    "fulfillment-release-due": {"task": "fulfillment.tasks.orders_release_due", "schedule": 30.0},
    "fulfillment-pick-delays": {"task": "fulfillment.tasks.pick_delays_detect", "schedule": 300.0},
    "fulfillment-carrier-misses": {"task": "fulfillment.tasks.carrier_misses_detect", "schedule": 900.0},
    "fulfillment-trackers-poll": {"task": "fulfillment.tasks.trackers_poll", "schedule": 300.0},
    "fulfillment-pickups-expire": {"task": "fulfillment.tasks.pickups_expire", "schedule": 3600.0},
    "fulfillment-orders-complete": {"task": "fulfillment.tasks.orders_complete_due", "schedule": 3600.0},
    "notifications-emails-due": {"task": "notifications.tasks.emails_send_due", "schedule": 15.0},
    "notifications-webhooks-due": {"task": "notifications.tasks.webhooks_send_due", "schedule": 5.0},
    "routing-backorders-retry": {"task": "fulfillment.routing.tasks.backorders_retry", "schedule": 60.0},
    "routing-backorders-expire": {"task": "fulfillment.routing.tasks.backorders_expire", "schedule": 3600.0},
    "routing-ready-sweep": {"task": "fulfillment.routing.tasks.orders_allocate_stale", "schedule": 60.0},
    "reports-kpis-rollup": {"task": "reports.tasks.kpis_rollup", "schedule": 3600.0},
    "reports-erp-export": {"task": "reports.tasks.erp_export", "schedule": 3600.0},
    "returns-expire-due": {"task": "returns.tasks.returns_expire_due", "schedule": 3600.0},
    "returns-exchanges-capture-due": {"task": "returns.tasks.exchanges_capture_due", "schedule": 3600.0},
}

# Returns: links in customer e-mails (the return label) start here.
OMS_PUBLIC_URL = env_str("OMS_PUBLIC_URL", "http://127.0.0.1:8000")

# Outbox: an event not dispatched this many seconds after it was written is re-dispatched.
OUTBOX_SWEEP_AFTER_SECONDS = env_int("OUTBOX_SWEEP_AFTER_SECONDS", 30)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 12)

# Only transitions marked custom={"admin": True} get a button in the admin.
FSM_ADMIN_FORCE_PERMIT = True

# Payments: gateway calls that fail without an answer are retried (same idempotency key) with
# exponential backoff and jitter, up to PAYMENT_MAX_ATTEMPTS calls (a merchant may override it).
PAYMENT_MAX_ATTEMPTS = env_int("PAYMENT_MAX_ATTEMPTS", 5)
PAYMENT_RETRY_BASE_SECONDS = env_int("PAYMENT_RETRY_BASE_SECONDS", 30)
PAYMENT_RETRY_MAX_SECONDS = env_int("PAYMENT_RETRY_MAX_SECONDS", 3600)
PAYMENT_SWEEP_GRACE_SECONDS = env_int("PAYMENT_SWEEP_GRACE_SECONDS", 120)
PAYMENT_GATEWAYS = {
    "sandbox": "orders.payments.gateways.sandbox.SandboxGateway",
    "giftcard": "orders.payments.gateways.sandbox.GiftCardGateway",
}
# Stripe PaymentIntents (orders/payments/gateways/stripe.py): offered once a key is configured.
STRIPE_API_KEY = env_str("STRIPE_API_KEY", "")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com")
if STRIPE_API_KEY:
    PAYMENT_GATEWAYS["stripe"] = "orders.payments.gateways.stripe.StripeGateway"
TAX_PROVIDER = env_str("TAX_PROVIDER", "orders.tax.providers.RateTableProvider")

# E-mail: SMTP when EMAIL_HOST is set; without it, each message is written as a file under
# EMAIL_FILE_PATH (var/mail), which `make run` prints.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "OMS <no-reply@localhost>")
EMAIL_FILE_PATH = Path(env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail")))
EMAIL_BACKEND = "django.core.mail.backends." + ("smtp.EmailBackend" if EMAIL_HOST else "filebased.EmailBackend")
# Customer e-mails (notifications): retried with exponential backoff, then given up (an alert).
EMAIL_MAX_ATTEMPTS = env_int("EMAIL_MAX_ATTEMPTS", 10)
EMAIL_RETRY_BASE_SECONDS = env_int("EMAIL_RETRY_BASE_SECONDS", 30)
# Merchant webhooks: retried with exponential backoff for WEBHOOK_RETRY_HOURS; a subscription
# whose every attempt failed for that long is disabled (an alert for the merchant's CSR).
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 10)
WEBHOOK_RETRY_HOURS = env_int("WEBHOOK_RETRY_HOURS", 24)
WEBHOOK_RETRY_BASE_SECONDS = env_int("WEBHOOK_RETRY_BASE_SECONDS", 60)
WEBHOOK_RETRY_MAX_SECONDS = env_int("WEBHOOK_RETRY_MAX_SECONDS", 6 * 3600)
WEBHOOK_CONCURRENCY = env_int("WEBHOOK_CONCURRENCY", 8)
# Production refuses endpoints on loopback or private addresses (SSRF); development allows them.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env_bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", DEBUG)
# Channel sync (docs/CHANNELS.md): Fernet key(s) for connection credentials, comma-separated,
# the first encrypting; without one, development derives a key from SECRET_KEY.
CHANNEL_CREDENTIALS_KEY = env_str("CHANNEL_CREDENTIALS_KEY", "")
CHANNEL_HTTP_TIMEOUT_SECONDS = env_int("CHANNEL_HTTP_TIMEOUT_SECONDS", 30)
CHANNEL_PULL_OVERLAP_SECONDS = env_int("CHANNEL_PULL_OVERLAP_SECONDS", 300)
CHANNEL_PUSH_MAX_ATTEMPTS = env_int("CHANNEL_PUSH_MAX_ATTEMPTS", 10)
# Pulls and pushes run on their own queue, so a long pull never waits behind the order pipeline.
CELERY_TASK_ROUTES = {"orders.channels.tasks.*": {"queue": "channels"}}
CELERY_BEAT_SCHEDULE.update(
    {
        "channels-pushes-due": {"task": "orders.channels.tasks.pushes_send_due", "schedule": 15.0},
        "channels-webhooks-due": {"task": "orders.channels.tasks.webhooks_process_due", "schedule": 30.0},
        "channels-availability-full": {"task": "orders.channels.tasks.availability_full_sync", "schedule": 3600.0},
    }
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
