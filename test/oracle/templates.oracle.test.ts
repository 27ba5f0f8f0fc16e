// {{ var }} references: what Ansible's templating gives (ansible -m debug,
// which runs without connecting) against postfleet's resolution.
import { describe, expect, it } from "vitest";
import { loadInventory } from "../../src/inventory/index.js";
import { ansible, CORPUS } from "./ansible.js";

const EXPR = '{{ {"host": ansible_host | default(inventory_hostname), "port": ansible_port | default(None), "user": ansible_user | default(None), "become_pw": ansible_become_password | default(None), "extra": summary | default(greeting | default(None))} }}';

async function ansibleView(source: string): Promise<Map<string, Record<string, unknown>>> {
  const r = await ansible("ansible", ["all", "-i", source, "-m", "debug", "-a", `msg=${EXPR}`]);
  expect(r.code).toBe(0);
  const out = new Map<string, Record<string, unknown>>();
  for (const m of r.stdout.matchAll(/^(\S+) \| SUCCESS => (\{[\s\S]*?\n\})/gm)) out.set(m[1]!, (JSON.parse(m[2]!) as { msg: Record<string, unknown> }).msg);
  return out;
}

describe.each(["13-templates.yml", "15-template-chain.ini"])("%s", (source) => {
  it("connection variables and strings resolve as in Ansible", async () => {
    const inv = await loadInventory({ sources: [source], cwd: CORPUS, ansibleConfig: null });
    const theirs = await ansibleView(source);
    expect([...theirs.keys()].sort()).toEqual([...inv.hostNames()].sort()); // ad-hoc output order follows the forks
    for (const name of inv.hostNames()) {
      const t = inv.toConnectionTarget(name);
      const v = inv.hostVars(name);
      const a = theirs.get(name)!;
      expect(t.address).toBe(a["host"]);
      expect(t.port ?? null).toBe(a["port"] === null ? null : Number(a["port"]));
      expect(t.user ?? null).toBe(a["user"]);
      expect(t.becomePassword ?? null).toBe(a["become_pw"]);
      expect(v["summary"] ?? v["greeting"] ?? null).toBe(a["extra"]);
    }
  });
});
