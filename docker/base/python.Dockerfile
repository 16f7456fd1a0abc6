# Stand-in for python:3.11-slim-bookworm, from Debian's own Python 3.11 (docker/base-images.sh).
ARG DEBIAN_IMAGE=supportbot-local/debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get upgrade -y --no-install-recommends \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv ca-certificates netbase tzdata \
    && ln -s /usr/bin/python3 /usr/local/bin/python \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/*
ENV LANG=C.UTF-8
CMD ["python3"]
