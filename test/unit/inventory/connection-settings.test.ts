import { describe, expect, it } from "vitest";
import { InventoryError, inventorySources, loadInventory, resolveConnectionTarget } from "../../../src/inventory/index.js";
import { proxyJumpFromSshArgs } from "../../../src/inventory/connection-settings.js";
import { loadAnsibleConfig } from "../../../src/inventory/ansible-config.js";
import { load, tree } from "../../support/inventory-files.js";

describe("connection targets", () => {
  it("maps Ansible's connection variables and postfleet's own", async () => {
    const { inv } = await load(
      {
        "i.yml": [
          "mta:",
          "  vars:",
          "    mgmt: mgmt.example.net",
          "    ansible_host: '{{ inventory_hostname }}.{{ mgmt }}'",
          "    ansible_port: '2222'",
          "    ansible_user: deploy",
          "    ansible_ssh_private_key_file: ~/.ssh/fleet",
          "    ansible_become: yes",
          "    ansible_become_user: postfix",
          "    ansible_become_pass: pw",
          "    ansible_timeout: 7",
          "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o ProxyJump=jump@bastion:22",
          "    postfleet_node: /opt/node/bin/node",
          "    postfleet_known_hosts_file: /etc/postfleet/known_hosts",
          "    postfleet_host_key_checking: accept-new",
          "  hosts:",
          "    mx1:",
          "",
        ].join("\n"),
      },
      ["i.yml"],
    );
    const t = inv.toConnectionTarget("mx1");
    expect(t).toMatchObject({
      name: "mx1",
      address: "mx1.mgmt.example.net",
      port: 2222,
      user: "deploy",
      become: true,
      becomeUser: "postfix",
      becomePassword: "pw",
      connectTimeoutMs: 7000,
      proxyJump: "jump@bastion:22",
      nodePath: "/opt/node/bin/node",
      knownHostsFile: "/etc/postfleet/known_hosts",
      hostKeyChecking: "accept-new",
    });
    expect(t.privateKeyFiles?.[0]).toMatch(/\/\.ssh\/fleet$/);
    expect(t.privateKeyFiles?.[0]?.startsWith("~")).toBe(false);
  });

  it("reads ProxyJump from ssh arguments", () => {
    expect(proxyJumpFromSshArgs("-J a@b:2")).toBe("a@b:2");
    expect(proxyJumpFromSshArgs("-Jb")).toBe("b");
    expect(proxyJumpFromSshArgs("-o 'ProxyJump j1,j2'")).toBe("j1,j2");
    expect(proxyJumpFromSshArgs("-oProxyJump=x")).toBe("x");
    expect(proxyJumpFromSshArgs("-o ServerAliveInterval=5")).toBeUndefined();
  });

  it.each([
    ["ansible_host: '{{ nowhere }}'", /variable ansible_host 'nowhere' is undefined/],
    ["ansible_host: \"{{ inventory_hostname | upper }}\"", /not a simple variable reference/],
    ["ansible_user: '{% if x %}a{% endif %}'", /Jinja2 statement/],
    ["ansible_port: 99999", /ansible_port must be an integer from 1 to 65535/],
    ["ansible_become: maybe", /ansible_become must be a boolean/],
    ["ansible_connection: docker", /SSH only/],
    ["a: '{{ b }}'\n      b: '{{ a }}'\n      ansible_host: '{{ a }}'", /recursive loop/],
  ])("%s is an error naming file, line, host and variable", async (vars, msg) => {
    const { inv } = await load({ "i.yml": `g:\n  hosts:\n    h1:\n      ${vars}\n` }, ["i.yml"]);
    let err: unknown;
    try {
      inv.toConnectionTarget("h1");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InventoryError);
    expect((err as Error).message).toMatch(/i\.yml:\d+: host h1: variable /);
    expect((err as Error).message).toMatch(msg);
  });

  it("never puts a become password into an error", async () => {
    const { inv } = await load({ "i.yml": "g:\n  hosts:\n    h1:\n      ansible_become_password: [hunter2]\n" }, ["i.yml"]);
    expect(() => inv.toConnectionTarget("h1")).toThrow(/must be a string/);
    expect(() => inv.toConnectionTarget("h1")).not.toThrow(/hunter2/);
  });

  it("hostVars resolves simple references and keeps other templates as text", async () => {
    const { inv } = await load({ "i.yml": "g:\n  vars:\n    d: example.net\n    fqdn: '{{ inventory_hostname }}.{{ d }}'\n    keep: '{{ d | upper }}'\n    gn: '{{ group_names }}'\n  hosts:\n    h1:\n" }, ["i.yml"]);
    expect(inv.hostVars("h1")).toEqual({ d: "example.net", fqdn: "h1.example.net", keep: "{{ d | upper }}", gn: ["g"] });
  });
});

describe("ansible.cfg", () => {
  it("reads [defaults] and applies remote_user, private_key_file and timeout", async () => {
    const dir = tree({
      "ansible.cfg": "[defaults]\ninventory = inv/hosts.ini, more.yml\nremote_user = ops\nprivate_key_file = keys/id_fleet\nforks = 20\ntimeout = 15 ; seconds\nhost_key_checking = False\n",
      "inv/hosts.ini": "[g]\nh1\n",
      "more.yml": "m:\n  hosts:\n    h2:\n",
    });
    const cfg = loadAnsibleConfig(dir, {})!;
    expect(cfg.inventory).toEqual([`${dir}/inv/hosts.ini`, `${dir}/more.yml`]);
    expect(cfg).toMatchObject({ remoteUser: "ops", privateKeyFile: `${dir}/keys/id_fleet`, forks: 20, timeout: 15, hostKeyChecking: false });
    expect(cfg.warnings[0]).toMatch(/ansible\.cfg:7: host_key_checking = False is ignored: postfleet always verifies host keys/);
    const { loadInventory } = await import("../../../src/inventory/index.js");
    const warnings: string[] = [];
    const inv = await loadInventory({ sources: [], cwd: dir, ansibleConfig: cfg, warn: (m) => warnings.push(m) });
    expect(inv.hostNames()).toEqual(["h1", "h2"]);
    const t = inv.toConnectionTarget("h1");
    expect(t).toMatchObject({ user: "ops", privateKeyFiles: [`${dir}/keys/id_fleet`], connectTimeoutMs: 15000 });
    expect(t.hostKeyChecking).toBeUndefined();
    expect(warnings.join("\n")).toMatch(/host_key_checking = False is ignored/);
  });

  it("command-line defaults sit between inventory variables and ansible.cfg", async () => {
    const dir = tree({ "ansible.cfg": "[defaults]\nremote_user = cfg-user\ntimeout = 5\n", "h.ini": "a ansible_user=inv-user\nb\n" });
    const { loadInventory } = await import("../../../src/inventory/index.js");
    const inv = await loadInventory({ sources: ["h.ini"], cwd: dir, ansibleConfig: loadAnsibleConfig(dir, {}) ?? null });
    expect(inv.toConnectionTarget("a", { user: "cli-user" }).user).toBe("inv-user");
    expect(inv.toConnectionTarget("b", { user: "cli-user", connectTimeoutMs: 9000 })).toMatchObject({ user: "cli-user", connectTimeoutMs: 9000 });
    expect(inv.toConnectionTarget("b")).toMatchObject({ user: "cfg-user", connectTimeoutMs: 5000 });
  });

  it("ANSIBLE_CONFIG wins over ./ansible.cfg; none means undefined", () => {
    const dir = tree({ "ansible.cfg": "[defaults]\nforks = 3\n", "other.cfg": "[defaults]\nforks = 9\n" });
    expect(loadAnsibleConfig(dir, {})?.forks).toBe(3);
    expect(loadAnsibleConfig(dir, { ANSIBLE_CONFIG: `${dir}/other.cfg` })?.forks).toBe(9);
    expect(loadAnsibleConfig(tree({}), {})).toBeUndefined();
  });

  it("a bad value names the file and line", () => {
    const dir = tree({ "ansible.cfg": "[defaults]\n\nforks = many\n" });
    expect(() => loadAnsibleConfig(dir, {})).toThrow(/ansible\.cfg:3: forks must be a positive integer/);
  });
});

describe("one precedence for every connection setting", () => {
  const files = {
    "h.ini": [
      "[g]",
      "inv ansible_user=inv-user ansible_ssh_private_key_file=/k/inv ansible_timeout=3 ansible_become=no ansible_become_user=inv-bu ansible_become_password=inv-pw postfleet_host_key_checking=accept-new",
      "bare",
      "",
    ].join("\n"),
    "ansible.cfg": "[defaults]\nremote_user = cfg-user\nprivate_key_file = /k/cfg\ntimeout = 5\n",
  };
  const overrides = {
    user: "cli-user",
    privateKeyFiles: ["/k/cli"],
    connectTimeoutMs: 9000,
    become: true,
    becomeUser: "cli-bu",
    becomePassword: "cli-pw",
    hostKeyChecking: "off" as const,
  };

  it("inventory variables win for -u/--private-key/-T/--host-key-checking; --become/--become-user/-K win over the inventory", async () => {
    const dir = tree(files);
    const inv = await loadInventory({ sources: ["h.ini"], cwd: dir, ansibleConfig: loadAnsibleConfig(dir, {}) ?? null });
    const targets = inv.connectionTargets(["inv", "bare"], overrides);
    expect([...targets.keys()]).toEqual(["inv", "bare"]);
    expect(targets.get("inv")).toEqual({
      name: "inv",
      address: "inv",
      user: "inv-user",
      privateKeyFiles: ["/k/inv"],
      connectTimeoutMs: 3000,
      hostKeyChecking: "accept-new",
      become: true,
      becomeUser: "cli-bu",
      becomePassword: "cli-pw",
    });
    expect(targets.get("bare")).toEqual({
      name: "bare",
      address: "bare",
      user: "cli-user",
      privateKeyFiles: ["/k/cli"],
      connectTimeoutMs: 9000,
      hostKeyChecking: "off",
      become: true,
      becomeUser: "cli-bu",
      becomePassword: "cli-pw",
    });
  });

  it("without command-line values: inventory, then ansible.cfg; nothing else is invented (ssh_config is the transport's)", async () => {
    const dir = tree(files);
    const inv = await loadInventory({ sources: ["h.ini"], cwd: dir, ansibleConfig: loadAnsibleConfig(dir, {}) ?? null });
    expect(inv.toConnectionTarget("inv")).toMatchObject({ user: "inv-user", become: false, becomeUser: "inv-bu", becomePassword: "inv-pw" });
    expect(inv.toConnectionTarget("bare")).toEqual({ name: "bare", address: "bare", user: "cfg-user", privateKeyFiles: ["/k/cfg"], connectTimeoutMs: 5000 });
    // become: false on the command line does not turn off the inventory's become.
    const on = await loadInventory({ sources: ["h.ini"], cwd: tree({ "h.ini": "x ansible_become=yes\n" }), ansibleConfig: null });
    expect(on.toConnectionTarget("x", { become: false }).become).toBe(true);
  });

  it("resolveConnectionTarget works on any variable reader", () => {
    const vars: Record<string, unknown> = { ansible_ssh_host: "10.0.0.1", ansible_ssh_port: "2200", postfleet_proxy_jump: "j@b" };
    const read = (...names: string[]) => {
      const n = names.find((x) => x in vars);
      return n ? { name: n, value: vars[n] } : undefined;
    };
    expect(resolveConnectionTarget("h", read, { user: "u" }, { path: "/x/ansible.cfg", fromEnv: [], remoteUser: "cfg", warnings: [] })).toEqual({
      name: "h",
      address: "10.0.0.1",
      port: 2200,
      user: "u",
      proxyJump: "j@b",
    });
  });
});

describe("inventorySources", () => {
  it("-i, else ansible.cfg's inventory, else /etc/ansible/hosts when it exists, else a clear error", () => {
    const dir = tree({ hosts: "h1\n" });
    const missing = `${dir}/nothing-here`;
    expect(inventorySources(["a.yml", "b.ini"], { inventory: ["/cfg/inv"] }, `${dir}/hosts`)).toEqual(["a.yml", "b.ini"]);
    expect(inventorySources([], { inventory: ["/cfg/inv"] }, `${dir}/hosts`)).toEqual(["/cfg/inv"]);
    expect(inventorySources(undefined, undefined, `${dir}/hosts`)).toEqual([`${dir}/hosts`]);
    expect(() => inventorySources([], { inventory: [] }, missing)).toThrow(InventoryError);
    expect(() => inventorySources([], null, missing)).toThrow(/no inventory: give one with -i FILE \(or set \[defaults\] inventory in ansible\.cfg\)/);
  });
});
