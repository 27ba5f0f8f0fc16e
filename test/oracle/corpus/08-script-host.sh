#!/bin/sh
# Dynamic inventory without _meta: variables come from --host NAME.
case "$1" in
--list)
  echo '{"edge": {"hosts": ["e1", "e2"], "children": ["core"]}, "core": {"hosts": ["c1"]}}'
  ;;
--host)
  case "$2" in
    e1) echo '{"ansible_host": "192.0.2.101", "idx": 1}' ;;
    c1) echo '{"core": true}' ;;
    *) echo '{}' ;;
  esac
  ;;
esac
