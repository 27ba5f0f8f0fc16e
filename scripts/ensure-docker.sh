#!/usr/bin/env bash
# Make a Docker engine available for the lab (tests, `postfleet lab`, the demo).
#  - If `docker info` answers: nothing to do.
#  - Else, as root on Debian/Ubuntu: install docker.io (+ debootstrap for the base
#    image), start dockerd in the background, wait until it answers.
#  - Else: say what the user must do, and fail.
set -euo pipefail
say() { printf 'postfleet-lab: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "no Docker engine answers ('docker info' failed)."
  say "Start Docker (e.g. 'sudo systemctl start docker') or give this user access to it"
  say "(e.g. 'sudo usermod -aG docker $USER'), then run this again."
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v debootstrap >/dev/null 2>&1; then
  say "installing docker.io and debootstrap with apt-get (needs a few minutes once)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io debootstrap >/dev/null
fi

if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  say "starting the docker service with systemctl"
  systemctl start docker || true
fi

if ! docker info >/dev/null 2>&1; then
  log=/var/log/postfleet-dockerd.log
  say "starting dockerd in the background (log: $log)"
  nohup dockerd >"$log" 2>&1 </dev/null &
  disown || true
fi

for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    say "Docker engine is up"
    exit 0
  fi
  sleep 1
done
say "dockerd did not answer within 120 s; see /var/log/postfleet-dockerd.log"
exit 1
