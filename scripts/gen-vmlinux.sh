#!/usr/bin/env bash
# Regenerate vmlinux/<arch>/vmlinux.h from the running kernel's BTF.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
arch=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
mkdir -p "$root/vmlinux/$arch"
bpftool btf dump file /sys/kernel/btf/vmlinux format c >"$root/vmlinux/$arch/vmlinux.h"
echo "wrote vmlinux/$arch/vmlinux.h"
