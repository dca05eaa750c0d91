#!/usr/bin/env bash
# Fetches rsyslog and its RELP modules (imrelp, omrelp) into data/peers/rsyslog
# for tests/interop/rsyslog_relp_test.ts, without installing rsyslog: Debian's
# rsyslog package conflicts with syslog-ng-core, so the two .debs are fetched
# with `apt-get download` and unpacked with `dpkg-deb -x`; only the shared
# libraries they link against (which conflict with nothing) are installed.
# Idempotent: does nothing when everything is in place.
# Usage (as root, from anywhere): bash tests/interop/fetch_rsyslog.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dest="$root/data/peers/rsyslog"
modules="$dest/usr/lib/x86_64-linux-gnu/rsyslog"
binaries=("$dest/usr/sbin/rsyslogd" "$modules/imrelp.so" "$modules/omrelp.so" "$modules/imtcp.so")
libs=(librelp0 libfastjson4 libestr0 liblognorm5)

unresolved() {
  local f
  for f in "${binaries[@]}"; do
    [[ -e "$f" ]] || { echo "$f is missing"; return 0; }
    if LD_LIBRARY_PATH="$dest/usr/lib/x86_64-linux-gnu" ldd "$f" | grep -q 'not found'; then
      echo "$f has unresolved libraries"
      return 0
    fi
  done
  return 1
}

if ! unresolved >/dev/null; then
  echo "fetch_rsyslog: already in $dest"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
updated=0
apt_update() {
  if [[ $updated == 0 ]]; then
    apt-get update -qq
    updated=1
  fi
}

if ! apt-get install -y -qq --no-install-recommends "${libs[@]}" >/dev/null 2>&1; then
  apt_update
  apt-get install -y -qq --no-install-recommends "${libs[@]}" >/dev/null
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current directory, as the _apt user when it can.
chmod 777 "$tmp"
if ! (cd "$tmp" && apt-get download -qq rsyslog rsyslog-relp >/dev/null 2>&1); then
  apt_update
  (cd "$tmp" && apt-get download -qq rsyslog rsyslog-relp >/dev/null)
fi
mkdir -p "$dest"
for deb in "$tmp"/*.deb; do
  dpkg-deb -x "$deb" "$dest"
done

if problem="$(unresolved)"; then
  echo "fetch_rsyslog: $problem" >&2
  exit 1
fi
echo "fetch_rsyslog: $("$dest/usr/sbin/rsyslogd" -v | head -1) in $dest"
