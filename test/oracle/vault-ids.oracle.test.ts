// Vault ids as Ansible 2.14 uses them: vault_id_match (ansible.cfg and
// ANSIBLE_VAULT_ID_MATCH) and vault-id client scripts (NAME-client[.EXT],
// run with --vault-id LABEL), against the real ansible-inventory.
import { beforeAll, describe, expect, it } from "vitest";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ansible, ANSIBLE_ENV, postfleet, run } from "./ansible.js";

let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "postfleet-vault-ids-"));
  writeFileSync(join(dir, "pw-prod"), "s3cret-prod\n");
  writeFileSync(join(dir, "pw-old"), "s3cret-old\n");
  // prod: a 1.2 file with vault id prod; old: a 1.1 file (no vault id).
  for (const [name, inv] of [
    ["prod", "prod:\n  hosts:\n    p1.example.net:\n"],
    ["old", "old:\n  hosts:\n    o1.example.net:\n"],
  ] as const) {
    mkdirSync(join(dir, name, "group_vars"), { recursive: true });
    writeFileSync(join(dir, name, "hosts.yml"), inv);
    writeFileSync(join(dir, name, "group_vars", `${name}.yml`), `secret_${name}: value-of-${name}\n`);
  }
  expect((await ansible("ansible-vault", ["encrypt", "--vault-id", "prod@pw-prod", "prod/group_vars/prod.yml"], dir)).code).toBe(0);
  expect((await ansible("ansible-vault", ["encrypt", "--vault-password-file", "pw-old", "old/group_vars/old.yml"], dir)).code).toBe(0);
  // A client script: the password of the id it is asked for, exit 2 for an id it does not know; it logs its arguments.
  writeFileSync(
    join(dir, "keyring-client.sh"),
    '#!/bin/sh\necho "$*" >> "$(dirname "$0")/client.log"\ncase "$2" in\n  prod) echo s3cret-prod ;;\n  old) echo s3cret-old ;;\n  *) echo "no secret for $2" >&2; exit 2 ;;\nesac\n',
  );
  chmodSync(join(dir, "keyring-client.sh"), 0o755);
});

interface Both {
  ansible: { code: number; stdout: string; stderr: string };
  ours: { code: number; stdout: string; stderr: string };
}

/** ansible-inventory and postfleet inventory with the same arguments and environment. */
async function both(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Both> {
  const e = { ...ANSIBLE_ENV, ...env };
  const a = await run("ansible-inventory", args, { cwd: dir, env: e });
  const ours = await postfleet(["inventory", ...args], dir, e);
  return { ansible: a, ours };
}

describe("vault_id_match", () => {
  it("off (the default): a password with another label still opens a vault with an id", async () => {
    const r = await both(["-i", "prod/hosts.yml", "--list", "--vault-id", "dev@pw-prod"]);
    expect(r.ansible.code).toBe(0);
    expect(r.ours.code, r.ours.stderr).toBe(0);
    expect(r.ours.stdout).toContain("value-of-prod");
  });

  it("ANSIBLE_VAULT_ID_MATCH=True: only the password labelled with the vault's id is tried", async () => {
    const wrong = await both(["-i", "prod/hosts.yml", "--list", "--vault-id", "dev@pw-prod"], { ANSIBLE_VAULT_ID_MATCH: "True" });
    expect(wrong.ansible.code).not.toBe(0);
    expect(wrong.ansible.stderr).toMatch(/Decryption failed/);
    expect(wrong.ours.code).toBe(1);
    expect(wrong.ours.stderr).toMatch(/vault_id_match is set/);
    expect(wrong.ours.stderr).not.toContain("s3cret");
    const right = await both(["-i", "prod/hosts.yml", "--list", "--vault-id", "dev@pw-old", "--vault-id", "prod@pw-prod"], { ANSIBLE_VAULT_ID_MATCH: "True" });
    expect(right.ansible.code).toBe(0);
    expect(right.ours.code, right.ours.stderr).toBe(0);
    expect(right.ours.stdout).toContain("value-of-prod");
  });

  it("vault_id_match = True in ansible.cfg: a vault without an id (1.1) takes the label 'default'", async () => {
    writeFileSync(join(dir, "match.cfg"), "[defaults]\nvault_id_match = True\n");
    const env = { ANSIBLE_CONFIG: join(dir, "match.cfg") };
    const labelled = await both(["-i", "old/hosts.yml", "--list", "--vault-id", "dev@pw-old"], env);
    expect(labelled.ansible.code).not.toBe(0);
    expect(labelled.ours.code).toBe(1);
    expect(labelled.ours.stderr).toMatch(/vault_id_match is set .*\(default: format 1\.1 names none\)/);
    const unlabelled = await both(["-i", "old/hosts.yml", "--list", "--vault-password-file", "pw-old"], env);
    expect(unlabelled.ansible.code).toBe(0);
    expect(unlabelled.ours.code, unlabelled.ours.stderr).toBe(0);
    expect(unlabelled.ours.stdout).toContain("value-of-old");
    const off = await both(["-i", "old/hosts.yml", "--list", "--vault-id", "dev@pw-old"]);
    expect(off.ansible.code).toBe(0);
    expect(off.ours.code, off.ours.stderr).toBe(0);
  });
});

describe("vault-id client scripts", () => {
  const log = (): string[] => readFileSync(join(dir, "client.log"), "utf8").trim().split("\n");

  it("are run with --vault-id LABEL, exactly as Ansible runs them", async () => {
    for (const tool of ["ansible", "postfleet"] as const) {
      rmSync(join(dir, "client.log"), { force: true });
      const args = ["-i", "prod/hosts.yml", "-i", "old/hosts.yml", "--list", "--vault-id", "old@keyring-client.sh", "--vault-id", "prod@keyring-client.sh"];
      const r = tool === "ansible" ? await run("ansible-inventory", args, { cwd: dir }) : await postfleet(["inventory", ...args], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("value-of-prod");
      expect(r.stdout).toContain("value-of-old");
      expect(log()).toEqual(["--vault-id old", "--vault-id prod"]);
    }
  });

  it("--vault-password-file NAME-client asks for the id 'default'; an unknown id (exit 2) alone is an error", async () => {
    for (const tool of ["ansible", "postfleet"] as const) {
      rmSync(join(dir, "client.log"), { force: true });
      const args = ["-i", "prod/hosts.yml", "--list", "--vault-password-file", "keyring-client.sh"];
      const r = tool === "ansible" ? await run("ansible-inventory", args, { cwd: dir }) : await postfleet(["inventory", ...args], dir);
      expect(r.code).not.toBe(0);
      expect(r.stderr.replace(/\s+/g, " ")).toMatch(/did not find a secret for vault-id=default/);
      expect(log()).toEqual(["--vault-id default"]);
    }
  });

  it("an unknown id is a warning when another password is found", async () => {
    const r = await both(["-i", "prod/hosts.yml", "--list", "--vault-id", "dev@keyring-client.sh", "--vault-id", "prod@keyring-client.sh"]);
    expect(r.ansible.code).toBe(0);
    expect(r.ansible.stderr.replace(/\s+/g, " ")).toMatch(/did not find a secret for vault-id=dev/);
    expect(r.ours.code, r.ours.stderr).toBe(0);
    expect(r.ours.stderr).toMatch(/did not find a secret for vault-id=dev/);
    expect(r.ours.stdout).toContain("value-of-prod");
  });

  it("a script not named *-client gets no arguments", async () => {
    writeFileSync(join(dir, "plain.sh"), '#!/bin/sh\necho "[$*]" >> "$(dirname "$0")/client.log"\necho s3cret-prod\n');
    chmodSync(join(dir, "plain.sh"), 0o755);
    for (const tool of ["ansible", "postfleet"] as const) {
      rmSync(join(dir, "client.log"), { force: true });
      const args = ["-i", "prod/hosts.yml", "--list", "--vault-id", "prod@plain.sh"];
      const r = tool === "ansible" ? await run("ansible-inventory", args, { cwd: dir }) : await postfleet(["inventory", ...args], dir);
      expect(r.code, r.stderr).toBe(0);
      expect(log()).toEqual(["[]"]);
    }
  });
});

describe("vault values in --yaml, --toml and --graph --vars", () => {
  beforeAll(async () => {
    const es = await run("ansible-vault", ["encrypt_string", "--vault-id", "prod@pw-prod", "hunter2", "--name", "secret"], { cwd: dir });
    expect(es.code).toBe(0);
    const value = es.stdout.trimEnd().split("\n").map((l) => `      ${l}`).join("\n");
    writeFileSync(join(dir, "values.yml"), `g:\n  hosts:\n    h1:\n${value}\n      other: 1\n`);
  });

  it("--yaml prints the !vault block as Ansible does, no password needed", async () => {
    for (const args of [["--list", "--yaml"], ["--host", "h1", "--yaml"]]) {
      const r = await both(["-i", "values.yml", ...args]);
      expect(r.ansible.code).toBe(0);
      expect(r.ours.code, r.ours.stderr).toBe(0);
      expect(r.ours.stdout).toBe(r.ansible.stdout);
      expect(r.ours.stdout).toContain("secret: !vault |");
    }
  });

  it("--toml and --graph --vars decrypt the value (TOML writes it as a list of characters), as Ansible does", async () => {
    for (const args of [["--list", "--toml"], ["--graph", "--vars"]]) {
      const r = await both(["-i", "values.yml", ...args, "--vault-id", "prod@pw-prod"]);
      expect(r.ansible.code).toBe(0);
      expect(r.ours.code, r.ours.stderr).toBe(0);
      expect(r.ours.stdout).toBe(r.ansible.stdout);
      const without = await both(["-i", "values.yml", ...args]);
      expect(without.ansible.code).not.toBe(0);
      expect(without.ours.code).toBe(1);
      expect(without.ours.stderr).toMatch(/no vault password was given/);
      expect(without.ours.stdout).toBe("");
    }
  });
});
