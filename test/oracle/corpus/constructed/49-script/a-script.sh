#!/bin/sh
# Dynamic inventory with _meta.hostvars.
if [ "$1" = "--list" ]; then
cat <<'JSON'
{
  "mx": {"hosts": ["dyn-mx1", "dyn-mx2"], "vars": {"role": "mx", "ansible_group_priority": 3}},
  "relay": ["dyn-relay1", "dyn-mx2"],
  "site_fra": {"children": ["mx", "relay"], "vars": {"site": "fra"}},
  "dyn-solo": {"solo_var": 1},
  "_meta": {"hostvars": {"dyn-mx1": {"ansible_host": "203.0.113.1", "weight": 10}, "dyn-relay1": {"nested": {"a": [1, 2]}}}}
}
JSON
else
  echo '{}'
fi
