#!/usr/bin/env bash
# Create (once) and cache a virtual environment running an older gradio for the compatibility tests.
# Usage: scripts/compat-env.sh VERSION   (5.50.0 or 4.44.1); prints the interpreter path.
# The cache lives in $BRIDGE_COMPAT_DIR (default ~/.cache/bridge-compat) and is rebuilt when the pins change.
set -euo pipefail
version="$1"
python="${PYTHON:-python3}"
dir="${BRIDGE_COMPAT_DIR:-$HOME/.cache/bridge-compat}/gradio-$version"
case "$version" in
  4.44.1) pins="gradio==4.44.1 huggingface_hub==0.25.2 fastapi==0.112.2 httpx==0.27.2 pydantic==2.9.2 uvicorn==0.30.6" ;;
  5.50.0) pins="gradio==5.50.0" ;;
  *) echo "unsupported compat version $version" >&2; exit 2 ;;
esac
if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$pins" ] && "$dir/bin/python" -c "import gradio" 2>/dev/null; then
  echo "$dir/bin/python"; exit 0
fi
echo "creating the gradio $version test environment in $dir (once; a few minutes)…" >&2
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
"$python" -m venv "$dir"
"$dir/bin/pip" install -q --disable-pip-version-check $pins >&2
"$dir/bin/python" -c "import gradio" >&2
echo "$pins" > "$dir/.complete"
echo "$dir/bin/python"
