# The termaudit server with its web app. Build: docker build -t termaudit .
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN rustup target add wasm32-unknown-unknown \
 && scripts/build-frontend.sh \
 && cargo build --release --locked --bin termaudit

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/termaudit termaudit
COPY --from=build /src/target/release/termaudit /usr/local/bin/termaudit
COPY --from=build /src/frontend/dist /usr/share/termaudit/web
ENV TERMAUDIT_WEB_DIR=/usr/share/termaudit/web TERMAUDIT_DATA_DIR=/var/lib/termaudit
USER termaudit
EXPOSE 8080
CMD ["termaudit", "serve"]
