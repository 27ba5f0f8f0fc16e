#!/bin/bash
# The lab's mail chain (MULTI_INSTANCE_README's content-filter example), for
# `postfleet lab up --mail-flow`:
#   postfix-in      smtpd on *:25, content_filter = smtp:[127.0.0.1]:10025
#   postfix-filter  a pass-through filter: smtpd on 127.0.0.1:10025,
#                   relayhost [127.0.0.1]:10026
#   postfix-out     smtpd on 127.0.0.1:10026, relayhost [127.0.0.1]:2525
#   smtp-sink       on 127.0.0.1:2525 (accepts and discards everything)
# The primary keeps running without inet listeners. Every instance logs to
# /var/log/postfix.log (maillog_file; no syslog runs in a container). Nothing
# leaves the host: postfix-out relays everything to the sink.
#   setup     create and configure the instances (idempotent; slow: postmulti)
#   snapshot  at image build: setup, keep the result in $SNAP, undo it
#   install   at first boot: unpack $SNAP (a second, not a minute)
#   start   start the sink and Postfix (systemd: enable and start the units)
#   wait    until ports 25, 10025, 10026 and 2525 answer (the seconds given, default 300)
set -eu
LOG=/var/log/postfix.log
INSTANCES="postfix-in postfix-filter postfix-out"
SNAP=/usr/share/postfleet-lab/mail-flow.tar

snapshot() {
  mkdir -p "$(dirname "$SNAP")"
  clean=$(mktemp)
  tar -C / -cpf "$clean" etc/postfix
  setup
  paths="etc/postfix"
  for i in $INSTANCES; do paths="$paths etc/$i var/spool/$i var/lib/$i"; done
  tar -C / -cpf "$SNAP" $paths
  for i in $INSTANCES; do rm -rf "/etc/$i" "/var/spool/$i" "/var/lib/$i"; done
  rm -rf /etc/postfix && tar -C / -xpf "$clean" && rm -f "$clean" "$LOG"
}

setup() {
  postconf -e multi_instance_wrapper='${command_directory}/postmulti -p --' \
    multi_instance_enable=yes master_service_disable=inet maillog_file=$LOG
  for i in $INSTANCES; do
    [ -d "/etc/$i" ] || postmulti -I "$i" -G mta -e create >/dev/null
    postmulti -i "$i" -e enable >/dev/null
    postconf -c "/etc/$i" -e maillog_file=$LOG master_service_disable= mydestination= \
      'mynetworks=127.0.0.0/8 [::1]/128' 'smtpd_relay_restrictions=permit_mynetworks reject'
  done
  postconf -c /etc/postfix-in -e 'content_filter=smtp:[127.0.0.1]:10025' \
    receive_override_options=no_address_mappings
  postconf -c /etc/postfix-filter -M# smtp/inet
  postconf -c /etc/postfix-filter -M '127.0.0.1:10025/inet=127.0.0.1:10025 inet n - n - - smtpd'
  postconf -c /etc/postfix-filter -e 'relayhost=[127.0.0.1]:10026'
  postconf -c /etc/postfix-out -M# smtp/inet
  postconf -c /etc/postfix-out -M '127.0.0.1:10026/inet=127.0.0.1:10026 inet n - n - - smtpd'
  postconf -c /etc/postfix-out -e 'relayhost=[127.0.0.1]:2525'
}

start() {
  if [ -d /run/systemd/system ]; then
    units="postfleet-lab-sink.service postfix@-.service"
    for i in $INSTANCES; do units="$units postfix@$i.service"; done
    systemctl enable $units >/dev/null 2>&1
    systemctl --no-block start $units
  else
    # In the background: sshd does not wait for Postfix (startLab waits with `wait`).
    setsid /usr/sbin/smtp-sink -u nobody 127.0.0.1:2525 64 </dev/null >/dev/null 2>&1 &
    setsid postfix start </dev/null >/dev/null 2>&1 &
  fi
}

wait_ready() {
  end=$(( $(date +%s) + ${1:-300} ))
  while [ "$(date +%s)" -lt "$end" ]; do
    ok=1
    for p in 25 10025 10026 2525; do
      (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { ok=0; break; }
    done
    [ $ok = 1 ] && return 0
    sleep 0.2
  done
  echo "postfleet-lab: the mail chain did not come up" >&2
  return 1
}

case "${1:-}" in
  setup) setup ;;
  snapshot) snapshot ;;
  install) tar -C / -xpf "$SNAP" ;;
  start) start ;;
  wait) wait_ready "${2:-300}" ;;
  *) echo "usage: $0 setup|snapshot|install|start|wait [seconds]" >&2; exit 2 ;;
esac
