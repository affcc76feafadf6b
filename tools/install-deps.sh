#!/bin/sh
# Installs what earlyflow needs on Debian 12 (bookworm). Run as root or as a
# user with sudo. `--test` adds what the test suite needs on top of the build
# (Check, clang + libclang-rt-14-dev for libFuzzer, valgrind, gnuplot, iproute2
# for the live-capture test in a network namespace). The
# tests need no Python: the end-to-end scripts use POSIX tools and the C
# helper tests/tools/ef_testtool, and fixtures are committed; python3-torch
# (regenerating fixtures, converting PyTorch models) is only in `--dev`.
# ASan/UBSan/TSan runtimes come with gcc (build-essential).
set -eu
SUDO=
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
fi
PKGS="build-essential cmake pkg-config git libpcap-dev libndpi-dev libopenblas-dev libyaml-dev check libsubunit-dev"
for arg in "$@"; do
    case "$arg" in
        --test) PKGS="$PKGS clang libclang-rt-14-dev valgrind gnuplot-nox libndpi-bin iproute2" ;;
        --dev) PKGS="$PKGS python3-torch gnuplot-nox libndpi-bin wireshark-common hyperfine" ;;
        *) echo "install-deps.sh: unknown option $arg (expected --test or --dev)" >&2; exit 2 ;;
    esac
done
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
