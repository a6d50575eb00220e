#!/bin/sh
# bootstrap.sh -- set up a fresh Debian machine and run pycorr.
#
#   ./bootstrap.sh demo   install what is missing, build, analyze the bundled samples
#   ./bootstrap.sh test   install what is missing, build, run every test
#                         (unit, end-to-end, sanitizers, a short fuzz run)
#
# Packages are installed with apt-get (as root, or through sudo when available).
set -eu
cd "$(dirname "$0")"

PKGS="make gcc pkg-config libpcre2-dev libjansson-dev librdkafka-dev libzstd-dev
libarchive-dev libjsmn-dev libcmocka-dev"
TEST_PKGS="clang libclang-rt-14-dev jq zstd xz-utils bzip2 gzip tar python3 kcat"

missing() {
    out=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || out="$out $p"
    done
    echo "$out"
}

install() {
    need=$(missing "$@")
    [ -z "$need" ] && return 0
    echo "bootstrap: installing:$need"
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "bootstrap: need root (or sudo) to install:$need" >&2; exit 2; fi
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q $need >/dev/null 2>&1 || {
        $SUDO apt-get update -q >/dev/null
        # shellcheck disable=SC2086
        $SUDO apt-get install -y -q $need
    }
}

what=${1:-demo}
case "$what" in
demo)
    # shellcheck disable=SC2086
    install $PKGS
    make -j"$(nproc 2>/dev/null || echo 2)"
    ./pycorr ingest samples/ || [ $? -eq 1 ]
    ;;
test)
    # shellcheck disable=SC2086
    install $PKGS $TEST_PKGS
    jobs=$(nproc 2>/dev/null || echo 2)
    make -j"$jobs" check-build
    make test
    make -j"$jobs" sanitize
    make -j"$jobs" fuzz-build
    make fuzz FUZZ_TIME="${FUZZ_TIME:-10}"
    echo "bootstrap: all tests passed"
    ;;
*)
    echo "usage: ./bootstrap.sh demo|test" >&2
    exit 2
    ;;
esac
