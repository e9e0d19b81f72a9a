#!/bin/sh
# Usage: check-manifest.sh MANIFEST [APP_ID]
# Parses a flatpak-builder manifest without building or downloading anything.
# Fails if flatpak-builder exits non-zero or prints any warning, e.g. for an
# unknown or misspelt property (flatpak-builder only warns about those).
set -u
manifest=${1:?usage: check-manifest.sh MANIFEST [APP_ID]}
app_id=${2:-}
builder=${FLATPAK_BUILDER:-flatpak-builder}

if ! command -v "$builder" >/dev/null 2>&1; then
    echo "SKIP: $builder not found"
    exit 77
fi

case $manifest in
    /*) ;;
    *) manifest=$(pwd)/$manifest ;;
esac

# flatpak-builder creates a .flatpak-builder/ state dir in its working
# directory even for --show-manifest; keep that out of the tree.
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
err=$work/stderr

out=$(cd "$work" && "$builder" --show-manifest "$manifest" 2>"$err")
rc=$?
cat "$err" >&2

if [ "$rc" -ne 0 ]; then
    echo "FAIL: $builder --show-manifest exited with $rc" >&2
    exit 1
fi
if grep -Eiq 'warning|critical|error' "$err"; then
    echo "FAIL: $builder printed warnings for $manifest" >&2
    exit 1
fi
if [ -n "$app_id" ]; then
    case $out in
        *"\"id\" : \"$app_id\""*) ;;
        *) echo "FAIL: $manifest does not declare id $app_id" >&2; exit 1 ;;
    esac
fi
echo "OK: $manifest"
