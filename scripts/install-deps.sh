#!/usr/bin/env bash
# Install what gomapwatch needs to build, demo and test on Debian 12 (bookworm).
# Idempotent: does nothing when everything is present. Run as root.
set -euo pipefail

# libclang-rt-14-dev: libFuzzer and the sanitizers' runtimes for clang 14
# (`make asan`, tests/fuzz); clang only recommends it, and images installed
# without recommends lack it.
PKGS=(clang llvm libclang-rt-14-dev make pkg-config libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev
      libcapstone-dev libcmocka-dev libcurl4-openssl-dev jq curl golang-1.19-go time help2man systemd man-db)

missing=()
for p in "${PKGS[@]}" libyyjson-dev; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
have_go() { command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ]; }
if [ ${#missing[@]} -eq 0 ] && have_go; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${missing[*]}; run as root to install them" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# yyjson is packaged from trixie on; its only dependency is libc6 >= 2.14.
# Keep trixie at a low priority so nothing else is ever taken from it.
if [ ! -f /etc/apt/sources.list.d/gomapwatch-trixie.sources ]; then
	cat >/etc/apt/sources.list.d/gomapwatch-trixie.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	cat >/etc/apt/preferences.d/gomapwatch-trixie <<'PIN'
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
fi
apt-get update -qq
apt-get install -y -qq "${PKGS[@]}" >/dev/null
apt-get install -y -qq libyyjson-dev/trixie libyyjson0/trixie >/dev/null

# A Go toolchain >= 1.21 is needed to fetch the others through GOTOOLCHAIN.
if ! have_go; then
	apt-get install -y -qq golang-1.23-go/bookworm-backports >/dev/null 2>&1 || {
		cat >/etc/apt/sources.list.d/gomapwatch-bpo.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
		apt-get update -qq
		apt-get install -y -qq -t bookworm-backports golang-1.23-go >/dev/null
	}
	ln -sf /usr/lib/go-1.23/bin/go /usr/local/bin/go
fi
echo "install-deps: done"
