# shellcheck shell=bash
# apt_get ARGS...: apt-get, quiet on success, waiting (up to 5 minutes)
# while another apt or dpkg run holds its locks: CI installs what a check
# needs, and a machine may be installing something else at that moment.
apt_get() {
  local tries=0 out
  while :; do
    if out=$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=60 "$@" 2>&1); then
      return 0
    fi
    if grep -q 'Could not get lock' <<<"$out" && ((tries++ < 30)); then
      echo "apt-get $1: another apt holds the lock; waiting" >&2
      sleep 10
      continue
    fi
    printf '%s\n' "$out" >&2
    return 1
  done
}
