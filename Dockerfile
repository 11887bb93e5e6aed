# The tranche image: `docker build -t ghcr.io/tranche-dev/tranche:0.1.0 .`
# (the name deploy/deployment.yaml runs; use your own registry's name and
# change it there too). Two stages: a Rust build on Debian bookworm, then
# distroless cc (glibc, libssl, CA certificates, no shell) with only the
# binary, run as the distroless non-root user 65532.

FROM rust:1.89-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY policies ./policies
COPY benches ./benches
RUN cargo build --release --locked --bin tranche \
 && strip target/release/tranche

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/tranche /usr/local/bin/tranche
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tranche"]
CMD ["run", "--config", "/etc/tranche/config/tranche.yaml"]
