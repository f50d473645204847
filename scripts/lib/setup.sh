# Shared set-up for scripts/demo and scripts/test: installs what is missing, nothing else.
# Sourced, not run. Works as root or through sudo on Debian/Ubuntu.

weir_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root (or sudo) to run: $*" >&2; return 1; fi
}

# ensure_apt PKG...: installs the Debian packages that are not installed yet.
ensure_apt() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]} (apt)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
}

# ensure_venv REQUIREMENTS: a Python venv at .venv with those packages (re-run only when they change).
ensure_venv() {
  local req=$1 venv="$weir_root/.venv" stamp="$weir_root/.venv/.weir-requirements"
  if [ ! -x "$venv/bin/python" ]; then
    say "creating Python venv at .venv"
    python3 -m venv "$venv" 2>/dev/null || { ensure_apt python3-venv; python3 -m venv "$venv"; }
  fi
  if ! cmp -s "$req" "$stamp"; then
    say "installing Python packages from ${req#$weir_root/}"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
    cp "$req" "$stamp"
  fi
}

ensure_swift() {
  command -v swift >/dev/null || { echo "Swift 6 is required: https://www.swift.org/install/linux/" >&2; exit 1; }
}
