# vtsum in a container: `docker build -t vtsum .`, then
# `docker run -p 8080:8080 -e VT_API_KEY=k1,k2 vtsum` (SQLite in the container), or
# `docker compose up` for the web app on a shared Redis (see docker-compose.yml).

FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p vtsum \
    && strip target/release/vtsum

FROM debian:bookworm-slim
# curl for the health check only; TLS roots are built into the binary (rustls).
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --create-home --home-dir /home/vtsum vtsum
COPY --from=build /src/target/release/vtsum /usr/local/bin/vtsum
USER vtsum
WORKDIR /home/vtsum
# Listening beyond loopback needs VTSUM_AUTH_TOKEN (or --insecure-no-auth): without one
# `vtsum serve` refuses to start, so `docker run -e VTSUM_AUTH_TOKEN=… image`.
ENV VTSUM_BIND=0.0.0.0:8080 \
    VTSUM_STORE=sqlite:/home/vtsum/.local/share/vtsum/vtsum.db
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["vtsum"]
CMD ["serve"]
