// Vault: values and files encrypted by the real ansible-vault are read by
// postfleet (formats 1.1 and 1.2 with vault ids); wrong passwords fail cleanly.
import { describe, expect, it, beforeAll } from "vitest";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encryptVault, InventoryError, loadInventory } from "../../src/inventory/index.js";
import { ansible, canonical, postfleet, REPO, run, ANSIBLE_ENV } from "./ansible.js";

let dir: string;
const indent = (s: string, n: number): string =>
  s
    .trimEnd()
    .split("\n")
    .map((l) => " ".repeat(n) + l)
    .join("\n");

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "postfleet-vault-"));
  writeFileSync(join(dir, "pw1"), "s3cret-one\n");
  writeFileSync(join(dir, "pw2"), "s3cret-two\n");
  writeFileSync(join(dir, "wrong"), "not-the-password\n");
  const es1 = await ansible("ansible-vault", ["encrypt_string", "--vault-password-file", "pw1", "hunter2", "--name", "ansible_become_password"], dir);
  const es2 = await ansible("ansible-vault", ["encrypt_string", "--vault-id", "prod@pw2", "id-secret", "--name", "db_password"], dir);
  expect(es1.code).toBe(0);
  expect(es2.stdout).toContain("$ANSIBLE_VAULT;1.2;AES256;prod");
  writeFileSync(
    join(dir, "hosts.yml"),
    ["vaulted:", "  hosts:", "    v1.example.com:", indent(es1.stdout, 6), indent(es2.stdout, 6), "    v2.example.com:", "      plain: 1", ""].join("\n"),
  );
  mkdirSync(join(dir, "group_vars"));
  mkdirSync(join(dir, "host_vars"));
  writeFileSync(join(dir, "group_vars/vaulted.yml"), "api_key: k3y-from-file\nansible_port: 2022\n");
  writeFileSync(join(dir, "host_vars/v2.example.com.yml"), "host_secret: per-host\n");
  expect((await ansible("ansible-vault", ["encrypt", "--vault-password-file", "pw1", "group_vars/vaulted.yml"], dir)).code).toBe(0);
  expect((await ansible("ansible-vault", ["encrypt", "--vault-id", "prod@pw2", "host_vars/v2.example.com.yml"], dir)).code).toBe(0);
  // A second inventory with only !vault values (no encrypted files).
  writeFileSync(join(dir, "only-values.yml"), ["g:", "  hosts:", "    v1.example.com:", indent(es1.stdout, 6), ""].join("\n"));
});

const vaultArgs = ["--vault-password-file", "pw1", "--vault-id", "prod@pw2"];

describe("vault against ansible-vault", () => {
  it("the encrypted files really are vault files", () => {
    expect(readFileSync(join(dir, "group_vars/vaulted.yml"), "utf8")).toMatch(/^\$ANSIBLE_VAULT;1\.1;AES256\n/);
    expect(readFileSync(join(dir, "host_vars/v2.example.com.yml"), "utf8")).toMatch(/^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
  });

  it("--list matches ansible-inventory (!vault values shown as __ansible_vault, files decrypted)", async () => {
    const a = await ansible("ansible-inventory", ["--list", "-i", "hosts.yml", ...vaultArgs], dir);
    const ours = await postfleet(["inventory", "--list", "-i", "hosts.yml", ...vaultArgs], dir);
    expect(a.code).toBe(0);
    expect(ours.code).toBe(0);
    expect(canonical(JSON.parse(ours.stdout))).toBe(canonical(JSON.parse(a.stdout)));
    expect(ours.stdout).toContain("__ansible_vault");
    expect(ours.stdout).toContain("k3y-from-file");
  });

  it("decrypts !vault values (1.1 and 1.2 with a vault id) for connections", async () => {
    const inv = await loadInventory({ sources: ["hosts.yml"], cwd: dir, vaultPasswordFiles: ["pw1"], vaultIds: ["prod@pw2"], ansibleConfig: null });
    const vars = inv.hostVars("v1.example.com");
    expect(vars["ansible_become_password"]).toBe("hunter2");
    expect(vars["db_password"]).toBe("id-secret");
    expect(vars["api_key"]).toBe("k3y-from-file");
    const t = inv.toConnectionTarget("v1.example.com");
    expect(t.becomePassword).toBe("hunter2");
    expect(t.port).toBe(2022);
    expect(inv.hostVars("v2.example.com")["host_secret"]).toBe("per-host");
  });

  it("a vault id label need not match: every password is tried, as Ansible does", async () => {
    const inv = await loadInventory({ sources: ["hosts.yml"], cwd: dir, vaultIds: ["one@pw1", "two@pw2"], ansibleConfig: null });
    expect(inv.hostVars("v2.example.com")["host_secret"]).toBe("per-host");
  });

  it("a wrong password fails cleanly, naming the file and never the secret", async () => {
    const ours = await postfleet(["inventory", "--list", "-i", "hosts.yml", "--vault-password-file", "wrong"], dir);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/group_vars\/vaulted\.yml:1: vault decryption failed/);
    expect(ours.stderr).not.toMatch(/k3y|hunter2|not-the-password/);
    const a = await ansible("ansible-inventory", ["--list", "-i", "hosts.yml", "--vault-password-file", "wrong"], dir);
    expect(a.code).not.toBe(0);
  });

  it("no password at all: --list still works for !vault values; using one is a clear error", async () => {
    const a = await ansible("ansible-inventory", ["--list", "-i", "only-values.yml"], dir);
    const ours = await postfleet(["inventory", "--list", "-i", "only-values.yml"], dir);
    expect(ours.code).toBe(0);
    expect(canonical(JSON.parse(ours.stdout))).toBe(canonical(JSON.parse(a.stdout)));
    const inv = await loadInventory({ sources: ["only-values.yml"], cwd: dir, ansibleConfig: null });
    let err: unknown;
    try {
      inv.toConnectionTarget("v1.example.com");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InventoryError);
    expect(String((err as Error).message)).toMatch(/only-values\.yml:\d+: host v1\.example\.com: variable ansible_become_password .*vault password/);
  });

  it("ansible-vault decrypts what postfleet encrypts (1.1 and 1.2)", async () => {
    writeFileSync(join(dir, "mine11.txt"), encryptVault("round trip 1.1\n", "s3cret-one"));
    writeFileSync(join(dir, "mine12.txt"), encryptVault("round trip 1.2\n", "s3cret-two", { vaultId: "prod" }));
    const v1 = await ansible("ansible-vault", ["view", "--vault-password-file", "pw1", "mine11.txt"], dir);
    const v2 = await ansible("ansible-vault", ["view", "--vault-id", "prod@pw2", "mine12.txt"], dir);
    expect(v1.stdout).toBe("round trip 1.1\n");
    expect(v2.stdout).toBe("round trip 1.2\n");
  });

  it("reads a whole inventory file encrypted with ansible-vault", async () => {
    writeFileSync(join(dir, "secret.ini"), "[hidden]\nh1.example.com ansible_port=2200\n");
    expect((await ansible("ansible-vault", ["encrypt", "--vault-id", "inv@pw2", "secret.ini"], dir)).code).toBe(0);
    const a = await ansible("ansible-inventory", ["--list", "-i", "secret.ini", "--vault-id", "inv@pw2"], dir);
    const ours = await postfleet(["inventory", "--list", "-i", "secret.ini", "--vault-id", "inv@pw2"], dir);
    expect(ours.code).toBe(0);
    expect(canonical(JSON.parse(ours.stdout))).toBe(canonical(JSON.parse(a.stdout)));
    expect(JSON.parse(ours.stdout).hidden.hosts).toEqual(["h1.example.com"]);
  });

  it("--ask-vault-pass prompts on the terminal without echo", async () => {
    writeFileSync(join(dir, "tty.ini"), "[g]\ntty-host.example.com\n");
    expect((await ansible("ansible-vault", ["encrypt", "--vault-password-file", "pw1", "tty.ini"], dir)).code).toBe(0);
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const cmd = `${process.execPath} --import ${tsx} ${join(REPO, "src/cli/main.ts")} inventory -i tty.ini --list-hosts all --ask-vault-pass`;
    // script(1) gives the command a pseudo-terminal, as an operator's shell would.
    const child = spawn("script", ["-qec", cmd, "/dev/null"], { cwd: dir, env: { ...ANSIBLE_ENV, NODE_PATH: join(REPO, "node_modules") } });
    let out = "";
    let sent = false;
    const code = await new Promise<number>((res) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (!sent && out.includes("Vault password: ")) {
          sent = true;
          child.stdin.write("s3cret-one\r");
        }
      });
      child.on("close", (c) => res(c ?? 1));
    });
    expect(code).toBe(0);
    expect(out).toContain("tty-host.example.com");
    expect(out).not.toContain("s3cret-one");
  });

  it("an executable password file is run for the password", async () => {
    const script = join(dir, "pw-script.sh");
    writeFileSync(script, "#!/bin/sh\necho s3cret-one\n");
    chmodSync(script, 0o755);
    const inv = await loadInventory({ sources: ["hosts.yml"], cwd: dir, vaultPasswordFiles: ["pw-script.sh", "pw2"], ansibleConfig: null });
    expect(inv.hostVars("v1.example.com")["api_key"]).toBe("k3y-from-file");
    void run;
  });
});
