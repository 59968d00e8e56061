#!/usr/bin/env bash
# Install the built .deb on this machine, start the installed app under Xvfb, scan the demo folder
# with the installed bundle, then uninstall and check nothing is left. Needs root, Xvfb and xdotool
# (apt-get install -y xvfb xauth xdotool libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 ...).
#
#   packaging/check_deb.sh dist/pixelpatrol-0.1.0-linux-x86_64-cpu.deb [OUT_DIR]
#
# Environment: MODEL=<name or .onnx> passes --model to the scan (default: the bundled default model).
set -euo pipefail
DEB="$(realpath "$1")"
OUT="$(realpath -m "${2:-build/check_deb}")"
mkdir -p "$OUT"
WORK="$(mktemp -d)"           # run everything from an unrelated working directory
export PIXELPATROL_HOME="$WORK/home"
cd "$WORK"

echo "== install $DEB"
apt-get install -y --no-install-recommends "$DEB" >"$OUT/install.log" 2>&1 \
  || { cat "$OUT/install.log"; exit 1; }
test -x /usr/bin/pixelpatrol
test -f /usr/share/applications/pixelpatrol.desktop
test -f /usr/share/icons/hicolor/256x256/apps/pixelpatrol.png
command -v desktop-file-validate >/dev/null && desktop-file-validate /usr/share/applications/pixelpatrol.desktop

echo "== start the installed app under Xvfb"
DISPLAY_NUM=:97
Xvfb "$DISPLAY_NUM" -screen 0 1400x900x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
XVFB_PID=$!
trap 'kill "$XVFB_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT
export DISPLAY="$DISPLAY_NUM" QT_QPA_PLATFORM=xcb
for _ in $(seq 50); do xdpyinfo >/dev/null 2>&1 && break; sleep 0.1; done
t0=$(date +%s.%N)
pixelpatrol >"$OUT/app.log" 2>&1 &
APP_PID=$!
WID=$(timeout 60 xdotool search --sync --onlyvisible --pid "$APP_PID" --name PixelPatrol | head -1)
t1=$(date +%s.%N)
echo "window mapped after $(echo "$t1 - $t0" | bc) s (id $WID)" | tee "$OUT/cold_start.txt"
sleep 3  # let the first paint finish before the picture
import -window root "$OUT/installed_window.png" 2>/dev/null \
  || xwd -root -silent | convert xwd:- "$OUT/installed_window.png"
kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true
pixelpatrol --smoke >"$OUT/smoke.log" 2>&1
cat "$OUT/smoke.log"

echo "== scan the demo folder with the installed bundle"
SCAN_ARGS=(scan /opt/pixelpatrol/_internal/desktop/demo --out "$OUT/demo_scan.csv" --device cpu)
[ -n "${MODEL:-}" ] && SCAN_ARGS+=(--model "$MODEL")
pixelpatrol "${SCAN_ARGS[@]}" 2>&1 | tee "$OUT/scan.log"
rows=$(($(wc -l <"$OUT/demo_scan.csv") - 1))
echo "scan wrote $rows rows"
[ "$rows" -eq "$(find /opt/pixelpatrol/_internal/desktop/demo -name '*.jpg' | wc -l)" ]

echo "== uninstall"
dpkg -r pixelpatrol >"$OUT/remove.log" 2>&1
left=$(ls -d /opt/pixelpatrol /usr/bin/pixelpatrol /usr/share/applications/pixelpatrol.desktop \
  /usr/share/icons/hicolor/256x256/apps/pixelpatrol.png 2>/dev/null || true)
if [ -n "$left" ]; then echo "left after dpkg -r: $left"; exit 1; fi
dpkg -s pixelpatrol 2>/dev/null | grep -q '^Status: deinstall ok config-files' && dpkg -P pixelpatrol >/dev/null
! dpkg -s pixelpatrol >/dev/null 2>&1
echo "removed cleanly; check_deb OK"
