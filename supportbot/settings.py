"""Supportbot settings: one module, every production switch read from the environment.

Embedded defaults (no variables set): SQLite in ``var/``, an in-process channel layer and
eager Celery tasks. ``make run`` sets ``REDIS_URL`` to the private Redis it starts, so the
web server and the Celery worker share a real channel layer and broker exactly as in production.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from supportbot.env import (
    env_bool,
    env_choice,
    env_choices,
    env_decimal,
    env_int,
    env_list,
    env_origins,
    env_str,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("SUPPORTBOT_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the data folder."""
    configured = env_str("SECRET_KEY")
    if configured:
        if len(configured) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long")
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    # The product's apps, top layer first; each imports only the ones below it (docs/architecture.md).
    "reporting",
    "conversations",
    "routing",
    "helpcentre",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The console, the help centre and Django's admin in the browser's language (Accept-Language).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After XFrameOptionsMiddleware on purpose: it sees responses first (supportbot/security.py).
    "supportbot.security.FrameAncestorsMiddleware",
]

ROOT_URLCONF = "supportbot.urls"
ASGI_APPLICATION = "supportbot.asgi.application"

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

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_url("DATABASE_URL", schemes=("postgres", "postgresql", "sqlite"))
DATABASE_POOL_SIZE = env_int("DATABASE_POOL_SIZE", 10, minimum=0)
if DATABASE_URL:
    _database = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0))
    if _database["ENGINE"] == "django.db.backends.postgresql" and DATABASE_POOL_SIZE:
        # Under ASGI each HTTP request's sync code runs in a thread of its own, and a persistent
        # connection outlives its thread until garbage collection closes it: a burst of requests
        # left dozens of idle server connections. A pool hands connections from thread to thread.
        _database["CONN_MAX_AGE"] = 0  # Django's pool requires it
        _database.setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DATABASE_POOL_SIZE, "timeout": 10}
    DATABASES = {"default": _database}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),
            # Kept open between ORM calls: closing and reopening around each call of an answer cost
            # 3.5 ms of CPU per answer (closing SQLite's last connection checkpoints the WAL).
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
            # The web server and the Celery worker write concurrently: WAL plus IMMEDIATE
            # transactions turn "database is locked" into a short wait.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": DATA_DIR / "test-db.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery broker, cache -----------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))


def _celery_broker_url(redis_url: str) -> str:
    # kombu spells a unix-socket Redis "redis+socket://"; redis-py spells it "unix://".
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url


if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "supportbot.channel_layer.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 gives connections a 5 s socket_timeout, while channels-redis blocks up to
                # 5 s waiting for messages: without this every socket dies after ~5 s of quiet.
                # A burst of closing sockets each leaves its groups at once; redis-py's default pool of
                # 100 connections refused most of 1,000 (bench_idle_sockets), leaving stale members.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "max_connections": env_int("CHANNEL_LAYER_MAX_CONNECTIONS", 1000, minimum=10),
                    }
                ],
                "capacity": env_int("CHANNEL_LAYER_CAPACITY", 1000, minimum=10),
                "expiry": env_int("CHANNEL_LAYER_EXPIRY", 60, minimum=1),
                "group_expiry": env_int("CHANNEL_LAYER_GROUP_EXPIRY", 86400, minimum=60),
            },
        }
    }
    CACHES = {
        "default": {
            # One connection pool per process, not one per websocket (supportbot/cache.py).
            "BACKEND": "supportbot.cache.SharedRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "supportbot",
        }
    }
else:
    # In-process only: enough for unit tests, unable to carry a worker's event to the web process.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = _celery_broker_url(REDIS_URL) if REDIS_URL else "memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90, minimum=1)
# A task not acknowledged within this window is redelivered (acks_late): longer than the hard limit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300, minimum=10)}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Summaries (conversations/summaries.py): a claim holds this long (over the task's 40 s hard limit);
# a summary still pending this long after it was sent, or whose claim lapsed, is sent again by a beat
# job that runs this often. Worst case from a lost message to a re-send: 60 + 10 s.
SUPPORTBOT_SUMMARY_LEASE_S = env_int("SUPPORTBOT_SUMMARY_LEASE_S", 45, minimum=1)
SUPPORTBOT_SUMMARY_RESEND_AFTER_S = env_int("SUPPORTBOT_SUMMARY_RESEND_AFTER_S", 60, minimum=1)
SUPPORTBOT_SUMMARY_RECOVER_EVERY_S = env_int("SUPPORTBOT_SUMMARY_RECOVER_EVERY_S", 10, minimum=1)
# Periodic work for beat (embedded in the worker by `make run`, its own process in production).
CELERY_BEAT_SCHEDULE = {
    # Waiting customers reach an agent who comes online later, not only at handoff time.
    "queue-assign": {"task": "conversations.queue_assign", "schedule": 30.0, "options": {"queue": "handoff"}},
    # Summaries lost with a queue (a Redis restart) or a killed worker are sent again within a minute or so.
    "summaries-recover": {
        "task": "conversations.summaries_recover",
        "schedule": float(SUPPORTBOT_SUMMARY_RECOVER_EVERY_S),
        "options": {"queue": "celery"},
    },
    # Silence changes satisfaction too: a chat that went quiet counts as abandoned.
    "satisfaction-refresh": {
        "task": "conversations.satisfaction_estimates_refresh",
        "schedule": 600.0,
        "options": {"queue": "celery"},
    },
    # Emails and webhooks whose retry is due, or whose first send was lost (conversations/outbox.py).
    "integrations-due": {
        "task": "conversations.integrations_due",
        "schedule": 15.0,
        "options": {"queue": "integrations"},
    },
    # An automatically assigned chat its agent has not opened in time goes to the next online agent.
    "offers-move-on": {"task": "conversations.offers_move_on", "schedule": 15.0, "options": {"queue": "handoff"}},
    # Chats held by an agent whose consoles went silent go back to the queue, even after a restart.
    "agents-absent-return": {
        "task": "conversations.agents_absent_return",
        "schedule": 30.0,
        "options": {"queue": "handoff"},
    },
    # Closed conversations get their contact reasons, a batch of conversations per model call.
    "contact-reasons-tag": {
        "task": "conversations.contact_reasons_tag",
        "schedule": 600.0,
        "options": {"queue": "summary"},
    },
}

# --- Model providers ------------------------------------------------------------------
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_BASE_URL = env_url("OPENAI_BASE_URL", schemes=("http", "https"))
SUPPORTBOT_MODELS = {
    "instant": env_str("SUPPORTBOT_MODEL_INSTANT", "gpt-5.5-instant"),
    "thinking": env_str("SUPPORTBOT_MODEL_THINKING", "gpt-5.5-thinking"),
    "pro": env_str("SUPPORTBOT_MODEL_PRO", "gpt-5.5-pro"),
    "mini": env_str("SUPPORTBOT_MODEL_MINI", "gpt-5.5-mini"),
}
for _tier, _model in SUPPORTBOT_MODELS.items():
    if not _model:
        raise ImproperlyConfigured(f"SUPPORTBOT_MODEL_{_tier.upper()} must not be empty")
# The offline engine streams word by word; this is its pause per word (0 in tests and benchmarks).
SUPPORTBOT_OFFLINE_WORD_DELAY_MS = env_int("SUPPORTBOT_OFFLINE_WORD_DELAY_MS", 25, minimum=0)
# A web process loads the help-centre index, the encoder, the classifier and the model client at
# start (supportbot/warmup.py) and is not ready until then; the test suite turns it off.
SUPPORTBOT_WARM_UP = env_bool("SUPPORTBOT_WARM_UP", True)

# --- Widget -----------------------------------------------------------------------------
SUPPORTBOT_PUBLIC_URL = env_url("SUPPORTBOT_PUBLIC_URL", "http://127.0.0.1:8000", schemes=("http", "https")).rstrip("/")
SUPPORTBOT_ALLOWED_ORIGINS = env_origins(
    "SUPPORTBOT_ALLOWED_ORIGINS", [SUPPORTBOT_PUBLIC_URL, "http://localhost:8000", "http://127.0.0.1:8000"]
)
SUPPORTBOT_VISITOR_TOKEN_MAX_AGE_S = env_int("SUPPORTBOT_VISITOR_TOKEN_MAX_AGE_S", 7 * 24 * 3600, minimum=60)
SUPPORTBOT_MAX_MESSAGE_CHARS = env_int("SUPPORTBOT_MAX_MESSAGE_CHARS", 4000, minimum=100)
SUPPORTBOT_SERVE_STATIC = env_bool("SUPPORTBOT_SERVE_STATIC", True)
SUPPORTBOT_SHOP_NAME = env_str("SUPPORTBOT_SHOP_NAME", "Lullmoor Sleep Co.")

# --- Abuse limits (docs/reliability.md) ---------------------------------------------------
# Per visitor (one token, one conversation) and per client IP; 0 turns a limit off.
SUPPORTBOT_MESSAGES_PER_MINUTE = env_int("SUPPORTBOT_MESSAGES_PER_MINUTE", 20, minimum=0)
SUPPORTBOT_SESSIONS_PER_IP_PER_HOUR = env_int("SUPPORTBOT_SESSIONS_PER_IP_PER_HOUR", 100, minimum=0)
# An agent whose console has been closed this long (no tab open, no reconnect) has left: their chats
# go back to the queue (conversations/handoff.py, agent_gone). Longer than two console pings (25 s).
SUPPORTBOT_AGENT_GONE_AFTER_S = env_int("SUPPORTBOT_AGENT_GONE_AFTER_S", 60, minimum=1)
# Behind a reverse proxy every request comes from the proxy: name the header it writes the client into.
SUPPORTBOT_CLIENT_IP_HEADER = env_str("SUPPORTBOT_CLIENT_IP_HEADER")
# Hard spend limits in USD (routing/spend_limits.py): an answer that could overrun one is refused.
SUPPORTBOT_VISITOR_BUDGET_USD = env_decimal("SUPPORTBOT_VISITOR_BUDGET_USD", "0.50")
SUPPORTBOT_DAILY_BUDGET_USD = env_decimal("SUPPORTBOT_DAILY_BUDGET_USD", "50.00")
SUPPORTBOT_ANSWER_MAX_OUTPUT_TOKENS = env_int("SUPPORTBOT_ANSWER_MAX_OUTPUT_TOKENS", 800, minimum=16)
# PII removed from customer messages and from everything sent to an external model.
SUPPORTBOT_REDACT = env_choices("SUPPORTBOT_REDACT", ["card"], choices=("card", "email", "phone"))

# --- Live metrics -----------------------------------------------------------------------
# A bearer token for Prometheus to scrape /metrics; staff sessions may always read it.
SUPPORTBOT_METRICS_TOKEN = env_str("SUPPORTBOT_METRICS_TOKEN")

# --- Handoff ------------------------------------------------------------------------------
# When people answer, e.g. "mon-fri 09:00-17:00; sat 10:00-14:00" in TIME_ZONE; "always" for around the clock.
# Parsed when the conversations app starts (conversations/apps.py): a typo stops start-up naming it.
SUPPORTBOT_BUSINESS_HOURS = env_str("SUPPORTBOT_BUSINESS_HOURS", "always")
# Slows every summary task down by this much; only the worker-kill test sets it.
SUPPORTBOT_SUMMARY_DELAY_MS = env_int("SUPPORTBOT_SUMMARY_DELAY_MS", 0, minimum=0)

# --- Email (conversations/emails.py) ------------------------------------------------------
# Ticket replies and transcripts go out through Django's email backend: SMTP when EMAIL_HOST is
# set, else printed to the worker's console (nothing leaves the machine).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
# STARTTLS (port 587) unless TLS from the start (port 465) is asked for.
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_SSL (port 465) and EMAIL_USE_TLS (STARTTLS, port 587) exclude each other")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "support@localhost")
# Per conversation per hour, and per address per day (across conversations, so the widget cannot
# be used to flood someone's inbox); 0 turns a limit off.
SUPPORTBOT_TRANSCRIPT_EMAILS_PER_HOUR = env_int("SUPPORTBOT_TRANSCRIPT_EMAILS_PER_HOUR", 3, minimum=0)
SUPPORTBOT_TRANSCRIPT_EMAILS_PER_ADDRESS_PER_DAY = env_int(
    "SUPPORTBOT_TRANSCRIPT_EMAILS_PER_ADDRESS_PER_DAY", 10, minimum=0
)

# --- Customer identity (conversations/identity.py) -------------------------------------------
# The shop's server signs its user's id with this (HMAC-SHA256); unset: every widget visitor is anonymous.
SUPPORTBOT_IDENTITY_SECRET = env_str("SUPPORTBOT_IDENTITY_SECRET")
if SUPPORTBOT_IDENTITY_SECRET and len(SUPPORTBOT_IDENTITY_SECRET) < 32:
    raise ImproperlyConfigured("SUPPORTBOT_IDENTITY_SECRET must be at least 32 characters long")

# --- REST API and webhooks (conversations/api/, conversations/webhooks.py) -------------------
SUPPORTBOT_API_REQUESTS_PER_MINUTE = env_int("SUPPORTBOT_API_REQUESTS_PER_MINUTE", 600, minimum=0)
SUPPORTBOT_WEBHOOK_TIMEOUT_S = env_int("SUPPORTBOT_WEBHOOK_TIMEOUT_S", 10, minimum=1)
SUPPORTBOT_WEBHOOK_MAX_ATTEMPTS = env_int("SUPPORTBOT_WEBHOOK_MAX_ATTEMPTS", 12, minimum=1)
REST_FRAMEWORK = {
    # Tokens only: no session authentication, so a signed-in agent's browser cannot be driven into the API.
    "DEFAULT_AUTHENTICATION_CLASSES": ["conversations.api.authentication.ApiTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["conversations.api.permissions.TokenScopes"],
    "DEFAULT_THROTTLE_CLASSES": ["conversations.api.throttling.ApiTokenThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "conversations.api.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Supportbot API",
    "DESCRIPTION": "Conversations, messages, ratings and the cost ledger, for the shop's own systems.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
}

# --- Security -------------------------------------------------------------------------
_public = urlparse(SUPPORTBOT_PUBLIC_URL)
_https = _public.scheme == "https"
CSRF_TRUSTED_ORIGINS = [SUPPORTBOT_PUBLIC_URL]
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _https)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_HSTS_PRELOAD = _https
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("SECURE_PROXY_SSL", False) else None
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/console/login/"
LOGIN_REDIRECT_URL = "/console/"

# --- Languages --------------------------------------------------------------------------
# Offered to visitors and agents (catalogues in locale/); named in their own language, as a picker shows them.
LANGUAGES = [
    ("en", "English"),
    ("hi", "हिन्दी"),
    ("es", "Español"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("pt-br", "Português (Brasil)"),
    ("ar", "العربية"),
]
# The shop's default: what a visitor gets when none of their browser's languages is offered.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "en")
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE must be one of {', '.join(dict(LANGUAGES))}, got {LANGUAGE_CODE!r}")
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"

# --- Customer photos (conversations/attachments.py) ----------------------------------------
# Never served by URL: the download view reads the bytes and checks who asks, whichever storage.
# "local" keeps them in the data folder (one machine, or a volume every process mounts); "s3" in
# a bucket on S3 or any S3-compatible store, so web processes and workers need share nothing else.
SUPPORTBOT_ATTACHMENTS_STORAGE = env_choice("SUPPORTBOT_ATTACHMENTS_STORAGE", "local", choices=("local", "s3"))


def _attachments_storage(kind: str) -> dict[str, object]:
    if kind == "local":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {
                "location": DATA_DIR / "attachments",
                "file_permissions_mode": 0o600,
                "directory_permissions_mode": 0o700,
            },
        }
    bucket = env_str("AWS_STORAGE_BUCKET_NAME")
    if not bucket:
        raise ImproperlyConfigured("AWS_STORAGE_BUCKET_NAME must be set when SUPPORTBOT_ATTACHMENTS_STORAGE is s3")
    access_key, secret_key = env_str("AWS_ACCESS_KEY_ID"), env_str("AWS_SECRET_ACCESS_KEY")
    if bool(access_key) != bool(secret_key):
        # Neither: boto3 finds credentials itself (an instance or task role, a shared credentials file).
        raise ImproperlyConfigured("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together, or neither")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            # Unset: AWS itself. Any other S3-compatible store (MinIO, Ceph, R2, ...) is addressed by path.
            "endpoint_url": env_url("AWS_S3_ENDPOINT_URL", schemes=("http", "https")) or None,
            "region_name": env_str("AWS_S3_REGION_NAME") or None,
            "access_key": access_key or None,
            "secret_key": secret_key or None,
            "location": "attachments",
            # No ACL header: objects stay as private as the bucket; nothing is ever fetched by URL.
            "default_acl": None,
            "querystring_auth": True,
            # Names are 128 random bits: skip the existence check, a HEAD request per upload that
            # also needs s3:ListBucket to tell "missing" from "forbidden".
            "file_overwrite": True,
        },
    }


STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": _attachments_storage(SUPPORTBOT_ATTACHMENTS_STORAGE),
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"daphne": {"level": "WARNING"}, "django.channels.server": {"level": "WARNING"}},
}
