#!/usr/bin/env bash
# Install what the kernel matrix (tests/vm) needs: QEMU, a static busybox and
# virtme-ng, and an apt source for bullseye so its 5.10 kernels can be
# downloaded (scripts/kernels.sh). Idempotent; run as root. Nothing on the
# host is upgraded: the install is simulated first and refused if it would.
set -euo pipefail

PKGS=(qemu-system-x86 busybox-static virtme-ng)
# virtme-ng is not in bookworm; trixie's has no dependency newer than
# bookworm's. Never `-t trixie`: that would pull trixie's libc.
INSTALL=(qemu-system-x86 busybox-static virtme-ng/trixie)
TRIXIE=/etc/apt/sources.list.d/gomapwatch-trixie.sources
BULLSEYE=/etc/apt/sources.list.d/gomapwatch-bullseye.sources

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${PKGS[@]}"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ -f "$TRIXIE" ] && [ -f "$BULLSEYE" ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-vm: missing ${missing[*]:-apt sources}; run as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# stanza URI SUITE: one deb822 source of Debian's main component
stanza() {
	printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n\n' \
		"$1" "$2" /usr/share/keyrings/debian-archive-keyring.gpg
}
# pin SUITE...: priority 100, so a suite only ever provides what is asked for
# by name or by release, never an upgrade of what bookworm installed
pin() {
	local s
	for s in "$@"; do
		printf 'Package: *\nPin: release n=%s\nPin-Priority: 100\n\n' "$s"
	done
}
# The same trixie source install-deps.sh writes (it may not have run yet).
if [ ! -f "$TRIXIE" ]; then
	stanza http://deb.debian.org/debian trixie >"$TRIXIE"
	pin trixie >/etc/apt/preferences.d/gomapwatch-trixie
fi
# bullseye's kernels come with point releases (bullseye) and through
# bullseye-security; bullseye-backports is gone from the archive.
if [ ! -f "$BULLSEYE" ]; then
	{
		stanza http://deb.debian.org/debian bullseye
		stanza http://deb.debian.org/debian-security bullseye-security
	} >"$BULLSEYE"
	pin bullseye bullseye-security >/etc/apt/preferences.d/gomapwatch-bullseye
fi
apt-get update -qq

if [ ${#missing[@]} -gt 0 ]; then
	# "Inst NAME [OLD] (NEW ...)": an installed package would be replaced
	upgrades=$(apt-get -s install -y --no-install-recommends "${INSTALL[@]}" |
		awk '$1 == "Inst" && $3 ~ /^\[/ { print $2 }')
	if [ -n "$upgrades" ]; then
		echo "install-vm: refusing, this would upgrade: ${upgrades//$'\n'/ }" >&2
		exit 1
	fi
	# another apt on the machine: wait for it rather than fail
	apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends \
		"${INSTALL[@]}" >/dev/null
fi
echo "install-vm: done"
