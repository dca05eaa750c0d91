#!/usr/bin/env bash
# Installs the benchmark's contenders when they are missing (as root; idempotent):
# syslog-ng with its SQL module and its SQLite, PostgreSQL and MySQL drivers from Debian's packages, and
# rsyslog unpacked into data/peers/rsyslog (its package conflicts with syslog-ng's,
# see tests/interop/fetch_rsyslog.sh). No daemon is started or enabled: the
# suite runs each contender itself, in the foreground, from a temporary directory.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

need=()
[ -x /usr/sbin/syslog-ng ] || need+=(syslog-ng-core)
ls /usr/lib/syslog-ng/*/libafsql.so >/dev/null 2>&1 || need+=(syslog-ng-mod-sql)
ls /usr/lib/x86_64-linux-gnu/dbd/libdbdsqlite3.so >/dev/null 2>&1 || need+=(libdbd-sqlite3)
# syslog-ng's sql() into the Postgres and MariaDB servers of bench/postgres.ts
ls /usr/lib/x86_64-linux-gnu/dbd/libdbdpgsql.so >/dev/null 2>&1 || need+=(libdbd-pgsql)
ls /usr/lib/x86_64-linux-gnu/dbd/libdbdmysql.so >/dev/null 2>&1 || need+=(libdbd-mysql)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install_contenders: missing ${need[*]}; run as root to install them" >&2
  else
    echo "install_contenders: installing ${need[*]}" >&2
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    (apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}") >&2 ||
      echo "install_contenders: apt-get failed; those contenders will be skipped" >&2
    rm -f /usr/sbin/policy-rc.d
  fi
fi
if [ "$(id -u)" = 0 ]; then
  bash "$root/tests/interop/fetch_rsyslog.sh" >&2 ||
    echo "install_contenders: rsyslog could not be fetched; it will be skipped" >&2
fi
exit 0
