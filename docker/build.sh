#!/usr/bin/env bash
# Build the lab MTA image once per content of docker/, and print its tag.
# Tag: postfleet-lab:<first 16 hex of sha256 over docker/'s files>, so the
# image is rebuilt only when docker/ changes.
# When debian:bookworm-slim can be neither found nor pulled (no registry),
# the base is made with debootstrap + docker import under that same name,
# so the Dockerfile stays the one a user with a registry would use.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
say() { printf 'postfleet-lab: %s\n' "$*" >&2; }
base=debian:bookworm-slim

hash=$(cd "$here" && find . -type f ! -name '*.swp' -print0 | LC_ALL=C sort -z \
  | xargs -0 sha256sum | sha256sum | cut -c1-16)
tag="postfleet-lab:$hash"

if docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"; exit 0
fi

apt_mirror() {
  # The mirror this machine's apt already uses (deb822 or one-line sources).
  local m
  m=$(grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null \
      | awk '{print $2}' | grep -v security | head -n1 || true)
  [ -n "$m" ] || m=$(grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
      | awk '{print $2}' | grep -v security | head -n1 || true)
  echo "${m:-}"
}

if ! docker image inspect "$base" >/dev/null 2>&1; then
  if timeout 60 docker pull -q "$base" >/dev/null 2>&1; then
    say "pulled $base"
  else
    command -v debootstrap >/dev/null || { say "cannot pull $base and debootstrap is missing (apt-get install debootstrap)"; exit 1; }
    mirror=$(apt_mirror)
    say "cannot pull $base: creating it with debootstrap ${mirror:+from $mirror} (about a minute)"
    root=$(mktemp -d /tmp/postfleet-rootfs.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    debootstrap --variant=minbase bookworm "$root" ${mirror:+"$mirror"} >/tmp/postfleet-debootstrap.log 2>&1 \
      || { say "debootstrap failed; see /tmp/postfleet-debootstrap.log"; exit 1; }
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -c . | docker import - "$base" >/dev/null
    say "created $base"
  fi
fi

say "building $tag from docker/ (once per change of docker/)"
docker build -q -t "$tag" "$here" >/dev/null
docker tag "$tag" postfleet-lab:latest
echo "$tag"
