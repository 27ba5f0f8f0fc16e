#!/bin/sh
# First boot of a lab host: fresh host keys (so every container has its own),
# the authorized key(s) from LAB_AUTHORIZED_KEYS, an optional non-root login
# user LAB_USER (with sudo, password LAB_SUDO_PASSWORD if set, else NOPASSWD).
# Then either sshd in the foreground ("sshd", the default) or any command.
set -eu

firstboot() {
  # Ed25519 and ECDSA only (sshd_config names them): an RSA key costs up to a
  # second of CPU per host, which a lab of many hosts on few cores feels.
  for t in ed25519 ecdsa; do
    [ -e "/etc/ssh/ssh_host_${t}_key" ] || ssh-keygen -q -t "$t" -N '' -f "/etc/ssh/ssh_host_${t}_key"
  done
  if [ -n "${LAB_AUTHORIZED_KEYS:-}" ]; then
    printf '%s\n' "$LAB_AUTHORIZED_KEYS" > /root/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys
  fi
  if [ -n "${LAB_USER:-}" ] && ! id "$LAB_USER" >/dev/null 2>&1; then
    useradd -m -s /bin/bash "$LAB_USER"
    install -d -m 700 -o "$LAB_USER" -g "$LAB_USER" "/home/$LAB_USER/.ssh"
    printf '%s\n' "${LAB_AUTHORIZED_KEYS:-}" > "/home/$LAB_USER/.ssh/authorized_keys"
    chown "$LAB_USER:$LAB_USER" "/home/$LAB_USER/.ssh/authorized_keys"
    chmod 600 "/home/$LAB_USER/.ssh/authorized_keys"
    if [ -n "${LAB_SUDO_PASSWORD:-}" ]; then
      echo "$LAB_USER:$LAB_SUDO_PASSWORD" | chpasswd
      echo "$LAB_USER ALL=(ALL) ALL" > "/etc/sudoers.d/$LAB_USER"
    else
      echo "$LAB_USER ALL=(ALL) NOPASSWD: ALL" > "/etc/sudoers.d/$LAB_USER"
    fi
    chmod 440 "/etc/sudoers.d/$LAB_USER"
  fi
  # LAB_MAIL_FLOW=1: the mail chain (postfleet-lab-mail-flow), set up once and started.
  if [ "${LAB_MAIL_FLOW:-}" = 1 ] && [ ! -e /etc/postfleet-lab.mail-flow ]; then
    /usr/local/sbin/postfleet-lab-mail-flow install && touch /etc/postfleet-lab.mail-flow
  fi
  if [ "${LAB_MAIL_FLOW:-}" = 1 ]; then /usr/local/sbin/postfleet-lab-mail-flow start; fi
}

case "${1:-sshd}" in
  firstboot) firstboot ;;
  sshd) firstboot; mkdir -p /run/sshd; exec /usr/sbin/sshd -D -e ;;
  /sbin/init|init)
    # systemd reads the container's environment from PID 1; the firstboot
    # unit re-runs this script with it.
    env | grep '^LAB_' > /etc/postfleet-lab.env || true
    exec /sbin/init ;;
  *) firstboot; exec "$@" ;;
esac
