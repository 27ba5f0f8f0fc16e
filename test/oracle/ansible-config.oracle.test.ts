// Where the inventory comes from when no -i is given, compared with the real
// Ansible: ansible.cfg's search order (ANSIBLE_CONFIG, ./ansible.cfg unless
// the directory is world-writable, ~/.ansible.cfg), ANSIBLE_INVENTORY over
// the file, relative paths, and vault passwords from ansible.cfg or
// ANSIBLE_VAULT_PASSWORD_FILE. Each case has its own HOME and working directory.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ANSIBLE_ENV, canonical, postfleet, run } from "./ansible.js";

interface Case {
  name: string;
  /** Files under the case's root: home/..., work/..., other/... */
  files: Record<string, string>;
  /** Environment additions; ROOT in a value is the case's root directory. */
  env?: Record<string, string>;
  worldWritableWork?: boolean;
  /** Inventory files (under the root) to encrypt with the password "pw-oracle" first. */
  encrypt?: string[];
}

const INI = (hosts: string[]) => `[mta]\n${hosts.join("\n")}\n`;

const CASES: Case[] = [
  { name: "~/.ansible.cfg names the inventory (~ expanded)", files: { "home/.ansible.cfg": "[defaults]\ninventory = ~/fleet.ini\n", "home/fleet.ini": INI(["h1", "h2"]) } },
  {
    name: "./ansible.cfg wins over ~/.ansible.cfg",
    files: { "home/.ansible.cfg": "[defaults]\ninventory = ~/fleet.ini\n", "home/fleet.ini": INI(["home1"]), "work/ansible.cfg": "[defaults]\ninventory = local.ini\n", "work/local.ini": INI(["local1", "local2"]) },
  },
  {
    name: "./ansible.cfg in a world-writable directory is passed over for ~/.ansible.cfg",
    files: { "home/.ansible.cfg": "[defaults]\ninventory = ~/fleet.ini\n", "home/fleet.ini": INI(["home1"]), "work/ansible.cfg": "[defaults]\ninventory = local.ini\n", "work/local.ini": INI(["local1"]) },
    worldWritableWork: true,
  },
  {
    name: "ANSIBLE_CONFIG wins over ./ansible.cfg; its relative inventory is relative to it",
    files: { "other/my.cfg": "[defaults]\ninventory = inv/\n", "other/inv/a.ini": INI(["a1"]), "other/inv/b.yml": "all:\n  hosts:\n    b1:\n", "work/ansible.cfg": "[defaults]\ninventory = local.ini\n", "work/local.ini": INI(["local1"]) },
    env: { ANSIBLE_CONFIG: "ROOT/other/my.cfg" },
  },
  {
    name: "ANSIBLE_INVENTORY wins over the file's inventory, relative to the working directory",
    files: { "home/.ansible.cfg": "[defaults]\ninventory = ~/fleet.ini\n", "home/fleet.ini": INI(["home1"]), "work/env.ini": INI(["env1", "env2"]) },
    env: { ANSIBLE_INVENTORY: "env.ini" },
  },
  {
    name: "ANSIBLE_INVENTORY with two sources, no ansible.cfg at all",
    files: { "work/one.ini": INI(["one1"]), "work/two.yml": "all:\n  children:\n    web:\n      hosts:\n        two1:\n        two2:\n" },
    env: { ANSIBLE_INVENTORY: "one.ini,ROOT/work/two.yml" },
  },
  {
    name: "an inventory list in ansible.cfg (comma-separated, spaces)",
    files: { "work/ansible.cfg": "[defaults]\ninventory = a.ini, sub/b.ini\n", "work/a.ini": INI(["a1"]), "work/sub/b.ini": INI(["b1"]) },
  },
  {
    name: "vault_password_file in ~/.ansible.cfg decrypts an encrypted inventory",
    files: { "home/.ansible.cfg": "[defaults]\ninventory = ~/fleet.yml\nvault_password_file = ~/pw.txt\n", "home/pw.txt": "pw-oracle\n", "home/fleet.yml": "all:\n  hosts:\n    v1:\n      relay: '[hub]:25'\n" },
    encrypt: ["home/fleet.yml"],
  },
  {
    name: "ANSIBLE_VAULT_PASSWORD_FILE decrypts an encrypted inventory named by ./ansible.cfg",
    files: { "work/ansible.cfg": "[defaults]\ninventory = fleet.yml\n", "other/pw.txt": "pw-oracle\n", "work/fleet.yml": "all:\n  hosts:\n    v2:\n      n: 3\n" },
    env: { ANSIBLE_VAULT_PASSWORD_FILE: "ROOT/other/pw.txt" },
    encrypt: ["work/fleet.yml"],
  },
  {
    name: "ANSIBLE_CONFIG naming a directory reads ansible.cfg in it",
    files: { "other/ansible.cfg": "[defaults]\ninventory = d.ini\n", "other/d.ini": INI(["d1"]) },
    env: { ANSIBLE_CONFIG: "ROOT/other" },
  },
];

async function setUp(c: Case): Promise<{ root: string; env: NodeJS.ProcessEnv }> {
  const root = mkdtempSync(join(tmpdir(), "postfleet-cfg-oracle-"));
  for (const d of ["home", "work", "other"]) mkdirSync(join(root, d));
  for (const [rel, text] of Object.entries(c.files)) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  const env: NodeJS.ProcessEnv = { ...ANSIBLE_ENV, HOME: join(root, "home"), ANSIBLE_HOME: join(root, "home", ".ansible") };
  delete env["ANSIBLE_CONFIG"];
  for (const [k, v] of Object.entries(c.env ?? {})) env[k] = v.split("ROOT").join(root);
  for (const rel of c.encrypt ?? []) {
    writeFileSync(join(root, "vault-pw"), "pw-oracle\n");
    // Encrypted outside the case's configuration (which names a password file too).
    const r = await run("ansible-vault", ["encrypt", "--vault-password-file", join(root, "vault-pw"), join(root, rel)], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
  }
  if (c.worldWritableWork) chmodSync(join(root, "work"), 0o777);
  return { root, env };
}

describe("the inventory ansible.cfg and ANSIBLE_* name, as Ansible finds it", () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const { root, env } = await setUp(c);
      const cwd = join(root, "work");
      const ansible = await run("ansible-inventory", ["--list"], { cwd, env });
      expect(ansible.code, ansible.stderr).toBe(0);
      const ours = await postfleet(["inventory", "--list"], cwd, env);
      expect(ours.code, ours.stderr).toBe(0);
      expect(canonical(JSON.parse(ours.stdout))).toBe(canonical(JSON.parse(ansible.stdout)));
      // Not an empty agreement: every case's inventory has hosts (ungrouped or in mta/web).
      const doc = JSON.parse(ours.stdout) as Record<string, { hosts?: string[] }>;
      expect(Object.values(doc).flatMap((g) => g.hosts ?? []).length).toBeGreaterThan(0);
    });
  }
});
