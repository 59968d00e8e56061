#!/usr/bin/env bash
# macOS: build PixelPatrol.app with the spec's BUNDLE step and wrap it in a .dmg with hdiutil.
# NOT run on the project's Linux machine; CI (release.yml) runs it on a macOS runner.
#
#   PYTHON=path/to/build-venv/bin/python packaging/macos/make_dmg.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
cd "$ROOT"
VERSION="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("pixelpatrol"))')"
"$PYTHON" -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller \
  packaging/pixelpatrol.spec
test -d dist/PixelPatrol.app
dist/PixelPatrol.app/Contents/MacOS/pixelpatrol --smoke  # the frozen app opens and quits
STAGE="build/dmg"
rm -rf "$STAGE" && mkdir -p "$STAGE"
cp -R dist/PixelPatrol.app "$STAGE/"
ln -s /Applications "$STAGE/Applications"  # drag-to-install
DMG="dist/pixelpatrol-$VERSION-macos-$(uname -m).dmg"
rm -f "$DMG"
hdiutil create -volname PixelPatrol -srcfolder "$STAGE" -ov -format UDZO "$DMG"
echo "dmg: $DMG"
