# Build with the official Swift image, run on slim Debian with only the C libraries it links.
#   docker build -t tether .
#   docker run --rm -p 8080:8080 --ulimit nofile=1048576:1048576 tether
FROM swift:6.1-bookworm AS build
WORKDIR /src
COPY . .
RUN apt-get update && apt-get install -y --no-install-recommends libuv1-dev libssl-dev libqrencode-dev zlib1g-dev libsqlite3-dev pkg-config make \
    && rm -rf /var/lib/apt/lists/*
RUN make release RELEASE_FLAGS="--static-swift-stdlib --product tether" \
    && cp "$(swift build -c release --show-bin-path)/tether" /tether

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libuv1 libssl3 libqrencode4 zlib1g libsqlite3-0 curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --no-create-home --uid 10001 tether \
    && mkdir -p /var/lib/tether && chown tether /var/lib/tether
COPY --from=build /tether /usr/local/bin/tether
USER tether
# Kept messages and revocations (SQLite): mount a volume here so they survive a new container.
ENV TETHER_STATE_DIR=/var/lib/tether
VOLUME /var/lib/tether
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=2s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/tether"]
CMD ["--host", "0.0.0.0", "--port", "8080"]
