// ansible.cfg found as Ansible finds it, and the ANSIBLE_* variables that
// override its keys (compared with the real Ansible in
// test/oracle/ansible-config.oracle.test.ts).
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAnsibleConfig, searchAnsibleConfig } from "../../../src/inventory/ansible-config.js";

function place() {
  const root = mkdtempSync(join(tmpdir(), "postfleet-cfg-"));
  const home = join(root, "home");
  const cwd = join(root, "work");
  const etc = join(root, "etc-ansible.cfg");
  mkdirSync(home);
  mkdirSync(cwd);
  return { root, home, cwd, etc, env: { HOME: home } as NodeJS.ProcessEnv };
}

describe("ansible.cfg search order", () => {
  it("ANSIBLE_CONFIG, then ./ansible.cfg, then ~/.ansible.cfg, then /etc/ansible/ansible.cfg: the first found wins", () => {
    const p = place();
    expect(searchAnsibleConfig(p.cwd, p.env, p.etc)).toEqual({});
    writeFileSync(p.etc, "[defaults]\n");
    expect(searchAnsibleConfig(p.cwd, p.env, p.etc).path).toBe(p.etc);
    writeFileSync(join(p.home, ".ansible.cfg"), "[defaults]\n");
    expect(searchAnsibleConfig(p.cwd, p.env, p.etc).path).toBe(join(p.home, ".ansible.cfg"));
    writeFileSync(join(p.cwd, "ansible.cfg"), "[defaults]\n");
    expect(searchAnsibleConfig(p.cwd, p.env, p.etc).path).toBe(join(p.cwd, "ansible.cfg"));
    const explicit = join(p.root, "other.cfg");
    writeFileSync(explicit, "[defaults]\n");
    expect(searchAnsibleConfig(p.cwd, { ...p.env, ANSIBLE_CONFIG: explicit }, p.etc).path).toBe(explicit);
    // ANSIBLE_CONFIG naming nothing: the search goes on.
    expect(searchAnsibleConfig(p.cwd, { ...p.env, ANSIBLE_CONFIG: join(p.root, "nope.cfg") }, p.etc).path).toBe(join(p.cwd, "ansible.cfg"));
  });

  it("passes over ./ansible.cfg in a world-writable directory, says so, and reads ~/.ansible.cfg", () => {
    const p = place();
    writeFileSync(join(p.cwd, "ansible.cfg"), "[defaults]\ninventory = local.ini\n");
    writeFileSync(join(p.home, ".ansible.cfg"), "[defaults]\ninventory = ~/home.ini\n");
    chmodSync(p.cwd, 0o777);
    const cfg = loadAnsibleConfig(p.cwd, p.env, p.etc)!;
    expect(cfg.path).toBe(join(p.home, ".ansible.cfg"));
    expect(cfg.inventory).toEqual([join(p.home, "home.ini")]);
    expect(cfg.warnings.join("\n")).toMatch(/ansible\.cfg is not read: its directory is world-writable/);
  });
});

describe("ANSIBLE_* variables", () => {
  it("override the file's keys; paths from the environment are relative to the working directory", () => {
    const p = place();
    writeFileSync(
      join(p.home, ".ansible.cfg"),
      "[defaults]\ninventory = inv.ini\nremote_user = fromfile\nforks = 5\ntimeout = 7\nvault_password_file = pw.txt\n[privilege_escalation]\nbecome = false\nbecome_user = postfix\n",
    );
    const env = { ...p.env, ANSIBLE_INVENTORY: "a.ini,b.yml", ANSIBLE_REMOTE_USER: "ops", ANSIBLE_FORKS: "20", ANSIBLE_BECOME: "yes", ANSIBLE_BECOME_ASK_PASS: "True", ANSIBLE_VAULT_IDENTITY_LIST: "prod@~/p.txt, dev@prompt" };
    const cfg = loadAnsibleConfig(p.cwd, env, p.etc)!;
    expect(cfg.inventory).toEqual([join(p.cwd, "a.ini"), join(p.cwd, "b.yml")]);
    expect(cfg.remoteUser).toBe("ops");
    expect(cfg.forks).toBe(20);
    expect(cfg.timeout).toBe(7);
    expect(cfg.become).toBe(true);
    expect(cfg.becomeUser).toBe("postfix");
    expect(cfg.becomeAskPass).toBe(true);
    expect(cfg.vaultPasswordFiles).toEqual([join(p.home, "pw.txt")]);
    expect(cfg.vaultIdentityList).toEqual(["prod@~/p.txt", "dev@prompt"]);
    expect(cfg.fromEnv).toEqual(["ANSIBLE_INVENTORY", "ANSIBLE_REMOTE_USER", "ANSIBLE_FORKS", "ANSIBLE_VAULT_IDENTITY_LIST", "ANSIBLE_BECOME", "ANSIBLE_BECOME_ASK_PASS"]);
  });

  it("apply with no ansible.cfg at all", () => {
    const p = place();
    const cfg = loadAnsibleConfig(p.cwd, { ...p.env, ANSIBLE_INVENTORY: "/srv/hosts.ini", ANSIBLE_TIMEOUT: "30" }, p.etc)!;
    expect(cfg.path).toBeUndefined();
    expect(cfg.inventory).toEqual(["/srv/hosts.ini"]);
    expect(cfg.timeout).toBe(30);
    expect(loadAnsibleConfig(p.cwd, p.env, p.etc)).toBeUndefined();
  });

  it("a bad value is an error naming the variable; in the file, naming file and line", () => {
    const p = place();
    expect(() => loadAnsibleConfig(p.cwd, { ...p.env, ANSIBLE_FORKS: "many" }, p.etc)).toThrow(/ANSIBLE_FORKS: forks must be a positive integer, got 'many'/);
    expect(() => loadAnsibleConfig(p.cwd, { ...p.env, ANSIBLE_BECOME: "perhaps" }, p.etc)).toThrow(/ANSIBLE_BECOME: become must be a boolean/);
    writeFileSync(join(p.home, ".ansible.cfg"), "[defaults]\n\n[privilege_escalation]\nbecome_ask_pass = sometimes\n");
    try {
      loadAnsibleConfig(p.cwd, p.env, p.etc);
      expect.unreachable();
    } catch (e) {
      expect(String(e)).toContain(`${join(p.home, ".ansible.cfg")}:4`);
      expect(String(e)).toMatch(/become_ask_pass must be a boolean, got 'sometimes'/);
    }
  });

  it("ANSIBLE_HOST_KEY_CHECKING=False is reported and not obeyed", () => {
    const p = place();
    const cfg = loadAnsibleConfig(p.cwd, { ...p.env, ANSIBLE_HOST_KEY_CHECKING: "False" }, p.etc)!;
    expect(cfg.hostKeyChecking).toBe(false);
    expect(cfg.warnings.join("\n")).toMatch(/^ANSIBLE_HOST_KEY_CHECKING: host_key_checking = False is ignored/);
  });
});
