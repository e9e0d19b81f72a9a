#!/bin/sh
# Usage: validate-metainfo.sh METAINFO
# Runs appstreamcli validate --no-net and fails on errors AND warnings
# (appstreamcli itself exits 0 when there are only warnings).
# Info (I:) and pedantic (P:) hints are allowed.
set -u
metainfo=${1:?usage: validate-metainfo.sh METAINFO}
appstreamcli=${APPSTREAMCLI:-appstreamcli}

if ! command -v "$appstreamcli" >/dev/null 2>&1; then
    echo "SKIP: $appstreamcli not found"
    exit 77
fi

out=$("$appstreamcli" validate --no-net --no-color "$metainfo" 2>&1)
rc=$?
printf '%s\n' "$out"

if [ "$rc" -ne 0 ]; then
    echo "FAIL: appstreamcli validate exited with $rc" >&2
    exit 1
fi
if printf '%s\n' "$out" | grep -Eq '^[[:space:]]*[EW]:'; then
    echo "FAIL: $metainfo has validation errors or warnings" >&2
    exit 1
fi
exit 0
