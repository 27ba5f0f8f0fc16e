// --check cannot create instances, yet the steps after an `instances` step
// must say what they would do to the instances it would create. After such a
// step, the host's facts are replaced by the predicted ones: instances that
// do not exist yet are marked, and steps answer for them without asking the
// agent (which knows nothing of them).
import type { FactsResponse, InstanceFacts } from "../../protocol/index.js";
import type { DesiredInstanceSpec } from "./step-model.js";

export function predictFacts(facts: FactsResponse, desired: readonly DesiredInstanceSpec[]): { facts: FactsResponse; predicted: Set<string> } {
  const instances = [...facts.instances];
  const predicted = new Set<string>();
  const find = (name: string) => instances.findIndex((i) => (name === "-" ? i.primary : i.name === name || i.name === `postfix-${name}`));
  for (const d of desired) {
    const at = find(d.name);
    if (d.state === "absent") {
      if (at >= 0) instances.splice(at, 1);
      continue;
    }
    const enabled = d.state === "enabled";
    if (at >= 0) {
      const cur = instances[at]!;
      instances[at] = { ...cur, enabled: cur.primary ? cur.enabled : enabled, ...(d.group !== undefined ? { group: d.group } : {}) };
      continue;
    }
    const dir = (base: string) => `${base.replace(/\/[^/]*$/, "")}/${d.name}`;
    const primary = facts.instances.find((i) => i.primary);
    const created: InstanceFacts = {
      name: d.name,
      group: d.group ?? "-",
      enabled,
      primary: false,
      configDirectory: primary ? dir(primary.configDirectory) : `/etc/${d.name}`,
      queueDirectory: primary ? dir(primary.queueDirectory) : `/var/spool/${d.name}`,
      dataDirectory: primary ? dir(primary.dataDirectory) : `/var/lib/${d.name}`,
      running: false,
    };
    instances.push(created);
    predicted.add(d.name);
  }
  return { facts: { ...facts, instances }, predicted };
}
