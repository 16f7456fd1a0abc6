# Stand-in for redis:7-bookworm, from Debian's redis-server (docker/base-images.sh).
ARG DEBIAN_IMAGE=supportbot-local/debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && apt-get upgrade -y --no-install-recommends \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
# As the official image: no config file, so every setting comes from the command line.
CMD ["redis-server", "--protected-mode", "no"]
