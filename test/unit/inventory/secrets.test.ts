// Secrets in inventory messages and in scripts' environment:
// no password (ansible_become_password / _pass, ansible_password,
// ansible_ssh_pass, vault passwords, the key passphrase) appears in an
// inventory error message, or in a script's environment or arguments.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { encryptVault, InventoryError, loadInventory } from "../../../src/inventory/index.js";
import { load, loadError, tree } from "../../support/inventory-files.js";

const SECRET = "Zq9-secret-Xk4";

async function targetError(yamlVars: string[]): Promise<Error> {
  const { inv } = await load({ "i.yml": ["mta:", "  hosts:", "    mx1:", ...yamlVars.map((l) => `      ${l}`), ""].join("\n") }, ["i.yml"]);
  try {
    inv.connectionTargets(["mx1"]);
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected connectionTargets to fail");
}

describe("template errors never echo a password", () => {
  it.each([
    ["ansible_become_password", `"${SECRET}{{ undefined_${SECRET.replace(/-/g, "")} }}"`, /not defined/],
    ["ansible_become_password", `"${SECRET}{{ x | upper }}"`, /not a simple variable reference/],
    ["ansible_become_pass", `"${SECRET}{% if x %}{% endif %}"`, /Jinja2 statement/],
    ["ansible_sudo_pass", `"${SECRET}{{ unclosed"`, /without a closing/],
    ["ansible_become_password", `"{{ ansible_become_password }}${SECRET}"`, /refers to itself/],
  ])("%s: %s", async (name, value, kind) => {
    const e = await targetError([`${name}: ${value}`]);
    expect(e).toBeInstanceOf(InventoryError);
    expect(e.message).toMatch(new RegExp(`i\\.yml:4: host mx1: variable ${name} `));
    expect(e.message).toMatch(kind);
    expect(e.message).toMatch(/details not shown: the value is a secret/);
    expect(e.message).not.toContain(SECRET);
    expect(e.message).not.toContain(SECRET.replace(/-/g, ""));
    expect(e.message).not.toContain("upper");
  });

  it("nor a password reached through another variable", async () => {
    const e = await targetError([`ansible_user: "{{ ansible_password }}"`, `ansible_password: "${SECRET}{{ x | upper }}"`]);
    expect(e.message).toMatch(/variable ansible_user .*details not shown/);
    expect(e.message).not.toContain(SECRET);
  });

  it("other variables keep their detailed message", async () => {
    const e = await targetError([`ansible_user: "{{ x | upper }}"`]);
    expect(e.message).toMatch(/uses '\{\{ x \| upper \}\}', which is not a simple variable reference/);
  });
});

describe("parse errors never echo a password", () => {
  it.each([
    [`[g]\nh1 ansible_become_password="${SECRET} unterminated\n`, 2, /cannot split host line \(not shown: the line sets a password\)/],
    [`[g]\nh1 ansible_ssh_pass=${SECRET} ${SECRET}\n`, 2, /expected key=value host variable assignment, got \(not shown/],
    [`[g]\nh1 ansible_password=a b${SECRET}\n`, 2, /expected key=value host variable assignment, got \(not shown/],
  ])("INI %j", async (text, line, msg) => {
    const e = await loadError({ "bad.ini": text }, ["bad.ini"]);
    expect(e.line).toBe(line);
    expect(e.message).toMatch(msg);
    expect(e.message).not.toContain(SECRET);
  });

  it.each([
    [`ansible_become_password: ${SECRET}\n`, 1, /group 'ansible_become_password' must be a mapping .*not shown/],
    [`g:\n  hosts:\n    ansible_password: ${SECRET}\n`, 3, /variables of host 'ansible_password' must be a mapping, not a string \(not shown/],
  ])("a misindented YAML password %j", async (text, line, msg) => {
    const e = await loadError({ "bad.yml": text }, ["bad.yml"]);
    expect(e.line).toBe(line);
    expect(e.message).toMatch(msg);
    expect(e.message).not.toContain(SECRET);
  });

  it("a YAML syntax error on a password line", async () => {
    const e = await loadError({ "bad.yml": `g:\n  vars:\n    ansible_become_password: "${SECRET}\\q"\n` }, ["bad.yml"]);
    expect(e.message).toMatch(/bad\.yml:3:\d+: YAML syntax error \(details not shown: the line sets a password\)/);
    expect(e.message).not.toContain("\\q");
  });

  it("a script's invalid JSON is not quoted", async () => {
    const dir = tree({ "inv.sh": `#!/bin/sh\necho '${SECRET} {"g": ["h"]}'\n` }, ["inv.sh"]);
    const e = await loadInventory({ sources: ["inv.sh"], cwd: dir, ansibleConfig: null }).catch((x: unknown) => x as Error);
    expect(e).toBeInstanceOf(InventoryError);
    expect((e as Error).message).toMatch(/printed invalid JSON/);
    expect((e as Error).message).not.toContain(SECRET);
  });

  it("a vault password script that fails after printing the password", async () => {
    const dir = tree({ "h.ini": "[g]\nh1\n", "pw.sh": `#!/bin/sh\necho ${SECRET}\nexit 3\n` }, ["pw.sh"]);
    const e = await loadInventory({ sources: ["h.ini"], cwd: dir, vaultPasswordFiles: ["pw.sh"], ansibleConfig: null }).catch((x: unknown) => x as Error);
    expect((e as Error).message).toMatch(/pw\.sh: vault password script '.*pw\.sh' exited with status 3$/);
    expect((e as Error).message).not.toContain(SECRET);
  });
});

describe("scripts never see postfleet's secrets", () => {
  const saved = process.env["POSTFLEET_SSH_KEY_PASSPHRASE"];
  beforeEach(() => {
    process.env["POSTFLEET_SSH_KEY_PASSPHRASE"] = `passphrase-${SECRET}`;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env["POSTFLEET_SSH_KEY_PASSPHRASE"];
    else process.env["POSTFLEET_SSH_KEY_PASSPHRASE"] = saved;
  });

  it("in the environment or the arguments of inventory and vault password scripts", async () => {
    const seen = tree({});
    const dump = (name: string) => `env > ${join(seen, name)}.env\nprintf '%s\\n' "$0" "$@" > ${join(seen, name)}.args\n`;
    const dir = tree(
      {
        "pw.sh": `#!/bin/sh\n${dump("pw")}echo vaultpw-${SECRET}\n`,
        "inv.sh": `#!/bin/sh\n${dump("inv")}echo '{"g": {"hosts": ["h1"]}, "_meta": {"hostvars": {}}}'\n`,
        "group_vars/g.yml": encryptVault("a: 1\n", `vaultpw-${SECRET}`),
      },
      ["pw.sh", "inv.sh"],
    );
    const inv = await loadInventory({ sources: ["inv.sh"], cwd: dir, vaultPasswordFiles: ["pw.sh"], ansibleConfig: null });
    expect(inv.rawHostVars("h1")).toEqual({ a: 1 });
    for (const name of ["pw", "inv"]) {
      const env = readFileSync(join(seen, `${name}.env`), "utf8");
      const args = readFileSync(join(seen, `${name}.args`), "utf8");
      expect(env).toMatch(/^PATH=/m); // the environment is passed on, minus the secrets
      expect(env).not.toContain(SECRET);
      expect(env).not.toMatch(/POSTFLEET_SSH_KEY_PASSPHRASE/);
      expect(args).not.toContain(SECRET);
    }
  });
});
