#!/usr/bin/env bash
# The one Linux build command: PyInstaller one-folder bundle -> .tar.gz and .deb, all under dist/.
#
#   PYTHON=/work/buildenv-cpu/bin/python packaging/build_linux.sh
#
# PYTHON is a build venv with `pip install -e .[package]` and without the `train` extra. The variant
# (cpu or gpu) follows the onnxruntime wheel in that venv: `onnxruntime` -> cpu, `onnxruntime-gpu` -> gpu.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
cd "$ROOT"

"$PYTHON" - <<'PY'
import importlib.util, sys
bad = [m for m in ("tensorflow", "keras", "tf2onnx") if importlib.util.find_spec(m)]
if bad:
    sys.exit(f"build venv has {', '.join(bad)} (the train extra): use a venv with only .[package]")
if importlib.util.find_spec("PyInstaller") is None:
    sys.exit("PyInstaller is missing: pip install -e .[package]")
PY
VERSION="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("pixelpatrol"))')"
if "$PYTHON" -c 'import importlib.metadata as m; m.version("onnxruntime-gpu")' 2>/dev/null; then
  VARIANT=gpu
else
  VARIANT=cpu
fi
echo "building pixelpatrol $VERSION ($VARIANT) with $PYTHON"

start=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --distpath dist --workpath build/pyinstaller packaging/pixelpatrol.spec
echo "pyinstaller: $(( $(date +%s) - start )) s, folder $(du -sm dist/pixelpatrol | cut -f1) MB"

NAME="pixelpatrol-$VERSION-linux-x86_64-$VARIANT"
tar -C dist -czf "dist/$NAME.tar.gz" pixelpatrol
echo "tar.gz: dist/$NAME.tar.gz ($(du -sm "dist/$NAME.tar.gz" | cut -f1) MB)"

# .deb: the folder under /opt/pixelpatrol, a launcher on PATH, a desktop entry and its icon.
STAGE="build/deb/$NAME"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/icons/hicolor/256x256/apps"
cp -a dist/pixelpatrol "$STAGE/opt/pixelpatrol"
cat > "$STAGE/usr/bin/pixelpatrol" <<'SH'
#!/bin/sh
exec /opt/pixelpatrol/pixelpatrol "$@"
SH
chmod 755 "$STAGE/usr/bin/pixelpatrol"
install -m 644 packaging/linux/pixelpatrol.desktop "$STAGE/usr/share/applications/pixelpatrol.desktop"
install -m 644 packaging/icons/pixelpatrol.png "$STAGE/usr/share/icons/hicolor/256x256/apps/pixelpatrol.png"
SIZE_KB=$(du -sk "$STAGE" | cut -f1)
# Qt's xcb platform plugin and onnxruntime need these from the system; everything else is bundled.
cat > "$STAGE/DEBIAN/control" <<CTL
Package: pixelpatrol
Version: $VERSION
Section: graphics
Priority: optional
Architecture: amd64
Installed-Size: $SIZE_KB
Maintainer: PixelPatrol <pixelpatrol@users.noreply.github.com>
Depends: libc6 (>= 2.28), libgl1, libegl1, libopengl0, libfontconfig1, libfreetype6, libglib2.0-0t64 | libglib2.0-0, libdbus-1-3, libxkbcommon0, libxkbcommon-x11-0, libx11-6, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0, libxcb-randr0, libxcb-render-util0, libxcb-xinerama0, libxcb-xkb1
Description: Find AI-generated images, offline ($VARIANT build)
 PixelPatrol scans folders of photos with bundled ONNX models and shows
 which images look AI-generated. Runs without a network connection.
CTL
cat > "$STAGE/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
command -v update-desktop-database >/dev/null && update-desktop-database -q /usr/share/applications || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q /usr/share/icons/hicolor || true
SH
cp "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
chmod 755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
dpkg-deb --root-owner-group -Zgzip -z6 --build "$STAGE" "dist/${NAME}.deb" >/dev/null
echo "deb: dist/${NAME}.deb ($(du -sm "dist/${NAME}.deb" | cut -f1) MB)"
echo "total: $(( $(date +%s) - start )) s"
