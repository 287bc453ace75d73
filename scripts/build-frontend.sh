#!/usr/bin/env bash
# Builds the web app (frontend/) in release mode into frontend/dist/:
# index.html, the loader boot.js, style.css and wasm-bindgen's `--target web`
# output. Every file index.html loads gets its content's hash in its name
# (`termaudit_web-0123456789abcdef.js`, which the server lets browsers keep
# for a year; see crates/termaudit-api/src/web_app.rs), and every text file
# and the wasm a gzip (`.gz`) and a brotli (`.br`) twin the server picks by
# the request's Accept-Encoding.
#
# Needs nothing from the internet but crates from crates.io (and, on the
# fallback path, Debian packages): no Trunk, no downloaded binaries.
#
#   scripts/build-frontend.sh            # from any directory
#
# Environment:
#   TERMAUDIT_TOOLS_DIR=DIR      where wasm-bindgen-cli is installed and kept
#                                (default: $HOME/.cache/termaudit/tools)
#   TERMAUDIT_WASM_FALLBACK=1    use Debian's Rust with -Zbuild-std even when the
#                                rustup wasm target is there (how CI machines
#                                without that target build; see
#                                shared/wasm-toolchain.md)
#   TERMAUDIT_FRONTEND_FORCE=1   rebuild even when the sources have not changed
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
frontend="$repo_root/frontend"
dist="$frontend/dist"
target_dir="$frontend/target"
tools_dir="${TERMAUDIT_TOOLS_DIR:-$HOME/.cache/termaudit/tools}"
wasm_target=wasm32-unknown-unknown
bin_name=termaudit-web  # cargo's binary, target/…/release/termaudit-web.wasm
out_name=termaudit_web  # wasm-bindgen's termaudit_web.js and termaudit_web_bg.wasm, hashed in dist/
hash_file="$dist/.source-hash"

log() { printf 'build-frontend: %s\n' "$*"; }
die() {
    printf 'build-frontend: error: %s\n' "$*" >&2
    exit 1
}

started=$SECONDS

# --- Skip when nothing changed -------------------------------------------------
# Everything that goes into dist/: the app, the shared API types (whose
# manifest inherits from the root Cargo.toml) and this script itself.
# target/ and dist/ are outputs, not sources.
sources_hash() {
    (
        cd "$repo_root"
        find frontend crates/termaudit-api-types Cargo.toml scripts/build-frontend.sh \
            \( -path frontend/target -o -path frontend/dist \
            -o -path crates/termaudit-api-types/target \) -prune -o -type f -print0 |
            LC_ALL=C sort -z | xargs -0 sha256sum
    ) | sha256sum | cut -d' ' -f1
}

hash="$(sources_hash)"
if [[ "${TERMAUDIT_FRONTEND_FORCE:-0}" != 1 && -f "$hash_file" &&
    "$(cat "$hash_file")" == "$hash" && -f "$dist/index.html" ]]; then
    log "frontend/dist is up to date (sources unchanged); nothing to do"
    exit 0
fi

# --- Compile to wasm -------------------------------------------------------------
have_rustup_target() {
    command -v rustup >/dev/null 2>&1 || return 1
    # Run inside frontend/ so a toolchain file there would be honoured.
    if (cd "$frontend" && rustup target list --installed) | grep -qx "$wasm_target"; then
        return 0
    fi
    log "adding the rustup target $wasm_target"
    # Refused on some machines, and might hang on a bad network: give up after 5 minutes.
    (cd "$frontend" && timeout 300 rustup target add "$wasm_target")
}

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root to run: $*"
    fi
}

# Debian's rustc-web ships a Rust whose std we can build for wasm from
# rust-web-src's sources; see shared/wasm-toolchain.md.
ensure_debian_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
            missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    command -v apt-get >/dev/null 2>&1 || die "need ${missing[*]}, and there is no apt-get"
    log "installing ${missing[*]} with apt-get"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# rust-lld links wasm: the rustup toolchain's when there is one (as the recipe
# was tried), else Debian's, which is rust-web-llvm's link to lld-<LLVM major>.
find_wasm_linker() {
    if command -v rustup >/dev/null 2>&1; then
        local rustc host candidate
        rustc="$(cd "$frontend" && { rustup which rustc 2>/dev/null || true; })"
        host="$("$rustc" -vV 2>/dev/null | sed -n 's/^host: //p' || true)"
        candidate="${rustc%/bin/rustc}/lib/rustlib/$host/bin/rust-lld"
        [[ -x "$candidate" ]] && { echo "$candidate"; return 0; }
    fi
    if [[ ! -x /usr/bin/rust-lld ]]; then
        local llvm_major
        llvm_major="$(/usr/bin/rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')"
        ensure_debian_packages rust-web-llvm "lld-$llvm_major" >&2
    fi
    [[ -x /usr/bin/rust-lld ]] || die "found no rust-lld to link wasm"
    echo /usr/bin/rust-lld
}

wasm="$target_dir/$wasm_target/release/$bin_name.wasm"

if [[ "${TERMAUDIT_WASM_FALLBACK:-0}" != 1 ]] && have_rustup_target; then
    log "compiling with $(cd "$frontend" && rustc --version) for $wasm_target"
    (cd "$frontend" && cargo build --release --locked --target "$wasm_target" --target-dir "$target_dir")
else
    if [[ "${TERMAUDIT_WASM_FALLBACK:-0}" == 1 ]]; then
        log "TERMAUDIT_WASM_FALLBACK=1: using Debian's Rust with -Zbuild-std"
    else
        log "no rustup target $wasm_target: using Debian's Rust with -Zbuild-std"
    fi
    ensure_debian_packages rustc-web cargo-web rust-web-src
    [[ -x /usr/bin/rustc && -x /usr/bin/cargo ]] || die "Debian's rustc/cargo are not in /usr/bin"
    [[ -d /usr/lib/rustlib/src/rust/library ]] || die "rust-web-src left no /usr/lib/rustlib/src/rust/library"
    linker="$(find_wasm_linker)"
    log "compiling with $(/usr/bin/rustc --version) (std from source), linker $linker"
    (
        cd "$frontend"
        export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1
        export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$linker"
        /usr/bin/cargo build --release --locked --target "$wasm_target" --target-dir "$target_dir" \
            -Zbuild-std=std,panic_abort
    )
fi
[[ -f "$wasm" ]] || die "cargo left no $wasm"

# --- wasm-bindgen, exactly the version in Cargo.lock ---------------------------------
bindgen_version="$(awk '
    $0 == "name = \"wasm-bindgen\"" { found = 1; next }
    found && /^version = / { gsub(/version = |"/, ""); print; exit }
' "$frontend/Cargo.lock")"
[[ -n "$bindgen_version" ]] || die "no wasm-bindgen in frontend/Cargo.lock"
bindgen="$tools_dir/bin/wasm-bindgen"
if [[ ! -x "$bindgen" || "$("$bindgen" --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]]; then
    log "installing wasm-bindgen-cli $bindgen_version into $tools_dir (once; takes a few minutes)"
    host_cargo=cargo
    command -v cargo >/dev/null 2>&1 || host_cargo=/usr/bin/cargo
    install=("$host_cargo" install --force --quiet --root "$tools_dir" wasm-bindgen-cli --version "$bindgen_version")
    # The CLI's own lock file can name a dependency version the registry no
    # longer serves (yanked); then let cargo pick current compatible versions.
    install_log="$(mktemp)"
    if ! "${install[@]}" --locked 2>"$install_log"; then
        log "the locked install failed ($(grep -m1 '^error' "$install_log" || echo 'see above'));"
        log "retrying without --locked"
        "${install[@]}"
    fi
    rm -f "$install_log"
    [[ "$("$bindgen" --version 2>/dev/null)" == "wasm-bindgen $bindgen_version" ]] ||
        die "installed wasm-bindgen-cli but $bindgen is not version $bindgen_version"
fi

# Assembled beside the build (target/ is ignored by git), then swapped in whole.
stage="$target_dir/dist-stage"
rm -rf "$stage"
mkdir -p "$stage"
log "binding with wasm-bindgen $bindgen_version"
"$bindgen" --target web --no-typescript --out-name "$out_name" --out-dir "$stage" "$wasm"

# --- Optional size optimisation --------------------------------------------------
if command -v wasm-opt >/dev/null 2>&1; then
    log "optimising with $(wasm-opt --version)"
    # Rust enables these wasm features by default; an older wasm-opt that does
    # not know one of them fails, and then the unoptimised file is kept.
    opt_log="$(mktemp)"
    if ! wasm-opt -Os --enable-bulk-memory --enable-sign-ext --enable-mutable-globals \
        --enable-nontrapping-float-to-int --enable-multivalue --enable-reference-types \
        -o "$stage/${out_name}_bg.opt.wasm" "$stage/${out_name}_bg.wasm" 2>"$opt_log"; then
        log "wasm-opt failed ($(head -n1 "$opt_log")); keeping the unoptimised wasm"
        rm -f "$stage/${out_name}_bg.opt.wasm"
    else
        mv "$stage/${out_name}_bg.opt.wasm" "$stage/${out_name}_bg.wasm"
    fi
    rm -f "$opt_log"
fi

# --- Assemble dist/ --------------------------------------------------------------
cp "$frontend/index.html" "$frontend/boot.js" "$stage/"
cp -R "$frontend/static/." "$stage/"

# --- Hashed names ------------------------------------------------------------------
# `name.ext` becomes `name-<16 hex digits of its SHA-256>.ext`, and every file
# that names it is rewritten first: the wasm is named by wasm-bindgen's JS
# (its default URL), the JS by boot.js and index.html, boot.js and
# style.css by index.html. The server serves names of this shape `immutable`.
hash_name() {
    local file="$1" base ext digest
    ext="${file##*.}"
    base="${file%.*}"
    digest="$(sha256sum "$stage/$file" | cut -c1-16)"
    mv "$stage/$file" "$stage/$base-$digest.$ext"
    printf '%s\n' "$base-$digest.$ext"
}
# Replaces the name $1 by $2 in the files $3…, failing when one does not name it.
rename_in() {
    local from="$1" to="$2" file
    shift 2
    for file in "$@"; do
        grep -qF "$from" "$stage/$file" || die "$file does not name $from"
        sed -i "s|${from//./\\.}|$to|g" "$stage/$file"
    done
}
wasm_file="$(hash_name "${out_name}_bg.wasm")"
rename_in "${out_name}_bg.wasm" "$wasm_file" "$out_name.js" index.html
js_file="$(hash_name "$out_name.js")"
rename_in "/$out_name.js" "/$js_file" boot.js index.html
boot_file="$(hash_name boot.js)"
rename_in /boot.js "/$boot_file" index.html
css_file="$(hash_name style.css)"
rename_in /style.css "/$css_file" index.html

# --- Precompression ----------------------------------------------------------------
# gzip is part of every Debian; brotli is a small package.
command -v brotli >/dev/null 2>&1 || ensure_debian_packages brotli
command -v brotli >/dev/null 2>&1 || die "found no brotli command"
log "compressing with gzip -9 and brotli -q 11"
while IFS= read -r -d '' file; do
    gzip -9 --no-name --keep --force "$file"
    brotli --quality=11 --keep --force "$file"
    # A twin no smaller than the file would only cost the client time.
    for twin in "$file.gz" "$file.br"; do
        if (($(stat -c %s "$twin") >= $(stat -c %s "$file"))); then rm "$twin"; fi
    done
done < <(find "$stage" -type f \( -name '*.html' -o -name '*.js' -o -name '*.css' \
    -o -name '*.wasm' -o -name '*.svg' -o -name '*.json' \) -print0)

printf '%s\n' "$hash" >"$stage/.source-hash"
rm -rf "$dist"
mv "$stage" "$dist"

log "done in $((SECONDS - started)) s: $(du -sh "$dist" | cut -f1) in frontend/dist ($(du -h "$dist/$wasm_file" | cut -f1) wasm, $(du -h "$dist/$wasm_file.br" | cut -f1) as brotli, $(du -h "$dist/$wasm_file.gz" | cut -f1) as gzip)"
