#!/usr/bin/env bash
# The README's two commands: `build-aux/quickstart.sh run` and `build-aux/quickstart.sh test`.
# Installs the Debian 12 packages that are missing (with sudo when not root), builds into ./build,
# then launches the app with its shipped models, or runs the whole test suite (UI tests under Xvfb).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}
case "$mode" in run|test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac

build_pkgs=(
  gcc meson ninja-build pkg-config
  libglib2.0-dev libgtk-4-dev libadwaita-1-dev libcairo2-dev libjson-glib-dev
  libopenblas-dev zlib1g-dev libsdl2-dev
  dataset-fashion-mnist
)
test_pkgs=(
  desktop-file-utils appstream flatpak-builder
  xvfb xauth dbus dbus-x11 at-spi2-core python3-dogtail python3-pyatspi imagemagick x11-utils
)
pkgs=("${build_pkgs[@]}")
[ "$mode" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing missing Debian packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release
fi
meson compile -C build

if [ "$mode" = run ]; then
  export GSETTINGS_SCHEMA_DIR="$PWD/build/assets${GSETTINGS_SCHEMA_DIR:+:$GSETTINGS_SCHEMA_DIR}"
  export FR_DATA_DIR="$PWD/data"
  exec ./build/app/frontier "${@:2}"
else
  exec meson test -C build --print-errorlogs "${@:2}"
fi
