"""Settings for the OMS: everything comes from the environment, with development defaults.

Embedded defaults (no server to install): SQLite in WAL mode under var/, and kombu's
SQLAlchemy transport on another SQLite file there as the Celery broker. Set DATABASE_URL
(postgres://...) and CELERY_BROKER_URL (redis://... or amqp://...) to run on real servers.

Safe by default: DEBUG is off unless DJANGO_DEBUG=1, and HTTPS (redirect, secure cookies, HSTS)
is on unless DJANGO_SECURE=0, which `make run` sets for its local demo on 127.0.0.1.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url

from oms.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OMS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

# The development secret: `manage.py check --deploy` refuses it (oms/checks.py).
DEV_SECRET_KEY = "dev-only-insecure-secret-do-not-use-in-production"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# HTTPS has its own switch, not DEBUG's: a local demo over plain HTTP is not a debug build.
SECURE = env_bool("DJANGO_SECURE", True)
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", SECURE)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", SECURE)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", SECURE)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000 if SECURE else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE
SECURE_HSTS_PRELOAD = SECURE
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
    "axes",
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
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "oms.middleware.NoStoreAPIMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with its lockout page.
    "axes.middleware.AxesMiddleware",
]

# Admin logins: django-axes counts failures per (username, IP address) and locks that pair out
# after AXES_FAILURE_LIMIT of them for AXES_COOLOFF_MINUTES; each attempt is logged, and the
# Admin group sees attempts, failures and lockouts in the console ("Axes").
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Every failure stays in the failure log (AccessFailureLog; django-axes keeps none unless told),
# even once a successful login has cleared the pair's attempt count. Capped per username.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False  # no banner on every manage.py start; lockouts are still logged (warning)

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
DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL", _SQLITE_URL))}
EMBEDDED_DATABASE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
# PostgreSQL: each process keeps a psycopg pool of at most DB_POOL_MAX_SIZE connections (0 turns
# pooling off). The pool, not CONN_MAX_AGE, keeps connections open, and Django refuses both at
# once, so CONN_MAX_AGE stays 0. run_stack sizes the pool so that all its processes together fit
# in what the server has free (oms/dbsize.py); other deployments set it the same way.
DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 4)
DATABASES["default"]["CONN_MAX_AGE"] = 0
if not EMBEDDED_DATABASE and DB_POOL_MAX_SIZE > 0:
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": DB_POOL_MAX_SIZE,
        # A request waits this long for a free connection, then fails (503) instead of hanging.
        "timeout": env_int("DB_POOL_TIMEOUT", 10),
        # Connections above min_size close after a minute idle, so a burst does not hold them.
        "max_idle": 60,
    }
# PostgreSQL binds the parameters itself, and a statement this connection has run
# DB_PREPARE_THRESHOLD times is prepared (psycopg): the pipeline's statements are parsed and
# planned once per connection instead of on every run (docs/PERFORMANCE.md: about 10 % more
# orders per second in-process). 0 sends statements with client-side binding, as before; use it
# behind a pooler in transaction mode (PgBouncer before 1.21), which cannot keep them prepared.
# Restart the processes after a migration that changes a table's columns (as a deploy does).
DB_PREPARE_THRESHOLD = env_int("DB_PREPARE_THRESHOLD", 2)
if not EMBEDDED_DATABASE and DB_PREPARE_THRESHOLD > 0:
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=DB_PREPARE_THRESHOLD
    )
if EMBEDDED_DATABASE:
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
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing one
# WhiteNoise serves static files (admin, API docs) from the apps' folders, found once at start,
# so a fresh clone needs no collectstatic step.
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("OMS_MEDIA_ROOT", str(VAR_DIR / "media")))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["oms.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["oms.api.permissions.IsMerchant"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "oms.api.pagination.Pagination",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["oms.api.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "oms.api.schema.AutoSchema",
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
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "oms.api.schema.document_list_errors",
    ],
}

# Celery: the broker needs no server by default: kombu's SQLAlchemy transport on a SQLite file
# under var/ (oms/broker.py). (kombu's filesystem transport lets a reader take a message file
# before its writer has written it: the worker then dies on a JSONDecodeError, message lost.)
EMBEDDED_BROKER_FILE = VAR_DIR / "broker.sqlite3"
_EMBEDDED_BROKER_URL = f"oms-sqlite+sqlite:///{EMBEDDED_BROKER_FILE}"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", _EMBEDDED_BROKER_URL)
EMBEDDED_BROKER = _EMBEDDED_BROKER_URL == CELERY_BROKER_URL
if CELERY_BROKER_URL.startswith(("oms-sqlite+", "sqla+", "sqlalchemy+")):
    # Writers wait for SQLite's lock rather than fail (these options go to create_engine).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 30}}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connections before and after every task, and in a
# prefork worker the whole psycopg pool with them, unless told to reuse them: that is a new
# connection (about 25 ms) per task, measured by bench/pipeline.py. Reuse them for this many
# tasks; oms.celery closes one a task found broken, so the next task opens a new one.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 100)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
# Periodic jobs; each app's module adds to this dict (see <app>/schedule.py).
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "outbox-relay": {"task": "oms.tasks.outbox_relay", "schedule": 5.0},
    # One sweeper for the order chain: every order whose next step is due and was not taken.
    "order-chains-due": {"task": "orders.tasks.order_chains_due", "schedule": 15.0},
    "outbox-purge": {"task": "oms.tasks.outbox_purge", "schedule": 3600.0},
    "idempotency-purge": {"task": "oms.tasks.idempotency_purge", "schedule": 3600.0},
    "inventory-availability-changes": {"task": "inventory.tasks.availability_changes", "schedule": 5.0},
    "inventory-snapshots-resume": {"task": "inventory.tasks.snapshots_resume", "schedule": 60.0},
    "payments-retry-due": {"task": "orders.payments.tasks.payments_retry_due", "schedule": 15.0},
    "payments-reauthorize-due": {"task": "orders.payments.tasks.payments_reauthorize_due", "schedule": 3600.0},
    "fulfillment-pick-delays": {"task": "fulfillment.tasks.pick_delays_detect", "schedule": 300.0},
    "fulfillment-carrier-misses": {"task": "fulfillment.tasks.carrier_misses_detect", "schedule": 900.0},
    "fulfillment-trackers-poll": {"task": "fulfillment.tasks.trackers_poll", "schedule": 300.0},
    "fulfillment-pickups-expire": {"task": "fulfillment.tasks.pickups_expire", "schedule": 3600.0},
    "fulfillment-orders-complete": {"task": "fulfillment.tasks.orders_complete_due", "schedule": 3600.0},
    "notifications-emails-due": {"task": "notifications.tasks.emails_send_due", "schedule": 15.0},
    "notifications-webhooks-due": {"task": "notifications.tasks.webhooks_send_due", "schedule": 5.0},
    "fulfillment-node-messages-due": {"task": "fulfillment.tasks.node_messages_send_due", "schedule": 5.0},
    "routing-backorders-retry": {"task": "fulfillment.routing.tasks.backorders_retry", "schedule": 60.0},
    "routing-backorders-expire": {"task": "fulfillment.routing.tasks.backorders_expire", "schedule": 3600.0},
    "routing-backorders-age": {"task": "fulfillment.routing.tasks.backorders_age_detect", "schedule": 900.0},
    "reports-kpis-rollup": {"task": "reports.tasks.kpis_rollup", "schedule": 3600.0},
    "reports-erp-export": {"task": "reports.tasks.erp_export", "schedule": 3600.0},
    "returns-expire-due": {"task": "returns.tasks.returns_expire_due", "schedule": 3600.0},
    "returns-exchanges-capture-due": {"task": "returns.tasks.exchanges_capture_due", "schedule": 3600.0},
}

# An order whose next step's job has not run this long after it became due (the broker was
# down, or a killed worker took the job with it) is moved on by a sweeper that runs every 15 s:
# no order waits much more than a minute for its next step (docs/RELIABILITY.md).
PIPELINE_STALE_SECONDS = env_int("PIPELINE_STALE_SECONDS", 40)

# An Idempotency-Key claim still unanswered after this long belongs to a request whose process
# died (gunicorn kills a request after 60 s): a retry with the same key takes it over.

# Returns: links in customer e-mails (the return label) start here.
OMS_PUBLIC_URL = env_str("OMS_PUBLIC_URL", "http://127.0.0.1:8000")

# Outbox: an event not dispatched this many seconds after it was written is re-dispatched.
OUTBOX_SWEEP_AFTER_SECONDS = env_int("OUTBOX_SWEEP_AFTER_SECONDS", 30)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 12)
# Dispatched outbox events (with their deliveries) are deleted after this many days.
OUTBOX_RETENTION_DAYS = env_int("OUTBOX_RETENTION_DAYS", 30)
# Idempotency-Key: a claim's lease (a retry after it, finding no reply, takes the key over) and
# how long keys and their replies are kept (the IETF draft recommends 24 hours).
IDEMPOTENCY_LEASE_SECONDS = env_int("IDEMPOTENCY_LEASE_SECONDS", 60)
IDEMPOTENCY_RETENTION_HOURS = env_int("IDEMPOTENCY_RETENTION_HOURS", 24)
# The relay claims this many events per transaction.
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 50)
# Per-process caches (oms.caches): a request re-checks their versions at most this often.
OMS_CACHE_CHECK_SECONDS = env_int("OMS_CACHE_CHECK_SECONDS", 1)

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
# Endpoints on loopback or private addresses are refused (SSRF) unless this is set, whatever DEBUG.
WEBHOOK_ALLOW_PRIVATE_HOSTS = env_bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", False)
# Messages to integrated nodes' systems (a WMS): POSTed by a job, retried with doubling backoff
# from NODE_MESSAGE_RETRY_BASE_SECONDS (at most an hour apart) until NODE_MESSAGE_MAX_ATTEMPTS.
# Private addresses are refused as for webhooks unless allowed: set it where a WMS sits on the
# retailer's own network.
NODE_MESSAGE_TIMEOUT_SECONDS = env_int("NODE_MESSAGE_TIMEOUT_SECONDS", 10)
NODE_MESSAGE_RETRY_BASE_SECONDS = env_int("NODE_MESSAGE_RETRY_BASE_SECONDS", 5)
NODE_MESSAGE_MAX_ATTEMPTS = env_int("NODE_MESSAGE_MAX_ATTEMPTS", 12)
NODE_ALLOW_PRIVATE_HOSTS = env_bool("NODE_ALLOW_PRIVATE_HOSTS", False)
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

# Exception queues (docs/EXCEPTIONS.md): an exception this close to its SLA deadline is
# "breaching soon"; an order waiting this long for backordered units raises an exception.
OMS_EXCEPTION_BREACH_WARNING_MINUTES = env_int("OMS_EXCEPTION_BREACH_WARNING_MINUTES", 60)
OMS_BACKORDER_AGE_HOURS = env_int("OMS_BACKORDER_AGE_HOURS", 48)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
