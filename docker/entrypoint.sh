#!/bin/sh
# The image's processes by name (compose.yaml runs each in its own container):
#   web      uvicorn, WEB_CONCURRENCY processes (default: one per CPU core the container sees)
#   worker   the Celery worker for every queue, CELERY_CONCURRENCY processes (default 2)
#   beat     Celery beat: run exactly one for the whole deployment
#   migrate  apply database migrations and exit
# Anything else runs as given, e.g. `python manage.py createsuperuser`.
set -eu
role=${1:-web}
[ $# -gt 0 ] && shift
case "$role" in
  web)
    # The flags are the Procfile's (docs/deploy.md says why each); 0.0.0.0 because the container's
    # port is what gets published.
    exec uvicorn supportbot.asgi:application --host 0.0.0.0 --port 8000 \
      --workers "${WEB_CONCURRENCY:-$(nproc)}" --ws-max-size 1048576 --ws-per-message-deflate false \
      --no-proxy-headers --lifespan off --no-access-log "$@" ;;
  worker)
    exec celery -A supportbot worker -Q celery,handoff,summary,integrations --concurrency "${CELERY_CONCURRENCY:-2}" \
      --loglevel "${LOG_LEVEL:-INFO}" "$@" ;;
  beat)
    exec celery -A supportbot beat --schedule "$SUPPORTBOT_DATA_DIR/celerybeat-schedule" \
      --loglevel "${LOG_LEVEL:-INFO}" "$@" ;;
  migrate)
    exec python manage.py migrate --noinput "$@" ;;
  *)
    exec "$role" "$@" ;;
esac
