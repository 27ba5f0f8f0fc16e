import { describe, expect, it } from "vitest";
import { InventoryError } from "../../../src/inventory/index.js";
import { load, loadError } from "../../support/inventory-files.js";

describe("INI inventories", () => {
  it("reads groups, children, vars, ports and ungrouped hosts", async () => {
    const { inv } = await load(
      {
        "hosts.ini": `lonely\nbastion:2222 ansible_user=jump\n[mx]\nmx[1:2] ansible_host=10.0.0.1\n[edge:children]\nmx\n[edge:vars]\nrole=edge\n[all:vars]\nntp=pool\n`,
      },
      ["hosts.ini"],
    );
    expect(inv.hostNames()).toEqual(["lonely", "bastion", "mx1", "mx2"]);
    expect(inv.rawHostVars("bastion")).toEqual({ ansible_port: 2222, ansible_user: "jump", ntp: "pool" });
    expect(inv.rawHostVars("mx2")).toEqual({ ansible_host: "10.0.0.1", ntp: "pool", role: "edge" });
    expect(inv.groupNames("mx1")).toEqual(["edge", "mx"]);
    expect(inv.groupNames("lonely")).toEqual(["ungrouped"]);
  });

  it("types host-line values and :vars values as Ansible does", async () => {
    const { inv } = await load({ "i.ini": `h a=1 b="2" c='"3"' d=[1,2] e=yes\n[g]\nh\n[g:vars]\nv1=1\nv2="1"\nv3=x # kept\n` }, ["i.ini"]);
    expect(inv.rawHostVars("h")).toEqual({ a: 1, b: 2, c: "3", d: [1, 2], e: "yes", v1: 1, v2: "1", v3: "x # kept" });
  });

  it("resolves children declared before their group", async () => {
    const { inv } = await load({ "i.ini": `[top:children]\nmid\n[mid:children]\nleaf\n[leaf]\nx\n` }, ["i.ini"]);
    expect(inv.selectHosts("top")).toEqual(["x"]);
    expect(inv.graph()).toBe("@all:\n  |--@ungrouped:\n  |--@top:\n  |  |--@mid:\n  |  |  |--@leaf:\n  |  |  |  |--x");
  });

  it.each([
    ["[g:foo]\n", 1, /unknown type 'foo'/],
    ["[g]\nh\n[x:vars]\na=1\n", 3, /\[x:vars\] is for group 'x', which is defined nowhere/],
    ["[g:children]\nnope\n", 2, /includes undefined group 'nope'/],
    ["[g]\nh[01:5]\n", 2, /equal-length/],
    ["[g]\nh junk\n", 2, /expected key=value/],
    ["[g]\nh:\n", 2, /trailing ':'/],
    ["[bad group]\n", 1, /invalid section entry/],
    ["[g:vars]\nnovalue\n[g]\n", 2, /expected key=value in \[g:vars\]/],
    ["[a:children]\nb\n[b:children]\na\n", 4, /recursive dependency loop/],
  ])("rejects %j at line %i", async (text, line, msg) => {
    const e = await loadError({ "bad.ini": text }, ["bad.ini"]);
    expect(e).toBeInstanceOf(InventoryError);
    expect(e.file).toMatch(/bad\.ini$/);
    expect(e.line).toBe(line);
    expect(e.message).toMatch(msg);
    expect(e.message).toMatch(new RegExp(`bad\\.ini:${line}: `));
  });
});

describe("YAML inventories", () => {
  it("reads all/hosts/children/vars with ranges and ports in host keys", async () => {
    const { inv } = await load(
      { "i.yml": `all:\n  vars: {a: 1}\n  children:\n    web:\n      hosts:\n        w[1:2]:2022:\n          x: y\n      children:\n        sub:\n          hosts:\n            s1:\n` },
      ["i.yml"],
    );
    expect(inv.hostNames()).toEqual(["w1", "w2", "s1"]);
    expect(inv.rawHostVars("w2")).toEqual({ a: 1, ansible_port: 2022, x: "y" });
  });

  it("types values as YAML 1.1 (PyYAML)", async () => {
    const { inv } = await load({ "i.yml": `g:\n  hosts:\n    h:\n      b1: yes\n      b2: Off\n      s1: y\n      o: 0755\n      sx: 1:30\n      f: 1.5\n      e: 1e3\n      n: ~\n` }, ["i.yml"]);
    expect(inv.rawHostVars("h")).toEqual({ b1: true, b2: false, s1: "y", o: 493, sx: 90, f: 1.5, e: "1e3", n: null });
  });

  it("keeps !unsafe values untemplated and shows them as ansible-inventory does", async () => {
    const { inv } = await load({ "i.yml": "g:\n  hosts:\n    h:\n      a: 1\n      u: !unsafe '{{ a }}'\n      t: '{{ u }}'\n      z: 08\n" }, ["i.yml"]);
    expect(JSON.parse(JSON.stringify(inv.rawHostVars("h")))).toEqual({ a: 1, u: { __ansible_unsafe: "{{ a }}" }, t: "{{ u }}", z: "08" });
    expect(inv.hostVars("h")).toMatchObject({ u: "{{ a }}", t: "{{ a }}" });
  });

  it("a file without extension may be YAML or INI", async () => {
    const { inv } = await load({ "d/a": "g:\n  hosts:\n    y1:\n", "d/b": "[h]\ni1\n" }, ["d"]);
    expect(inv.hostNames()).toEqual(["y1", "i1"]);
  });

  it.each([
    ["all:\n  hosts:\n    a:\n   b: [\n", /YAML syntax error/],
    ["- a\n- b\n", /must be a mapping of group names/],
    ["g:\n  hostz:\n    a:\n", /unexpected key 'hostz'/],
    ["g:\n  hosts: [a, b]\n", /'hosts' of group 'g' must be a mapping/],
    ["g:\n  hosts:\n    a: 5\n", /variables of host 'a' must be a mapping/],
    ["g:\n  hosts:\n    1:\n", /must be a string/],
    ["plugin: aws_ec2\n", /plugin configuration/],
  ])("rejects %j with file and line", async (text, msg) => {
    const e = await loadError({ "bad.yml": text }, ["bad.yml"]);
    expect(e).toBeInstanceOf(InventoryError);
    expect(e.line).toBeGreaterThan(0);
    expect(e.message).toMatch(msg);
  });
});

describe("directories and scripts", () => {
  it("reads a directory in sorted order and skips what Ansible skips", async () => {
    const { inv } = await load(
      { "inv/b.yml": "b:\n  hosts:\n    hb:\n", "inv/a": "[a]\nha\n", "inv/x.ini": "[x]\nhx\n", "inv/.h": "[h]\nhh\n", "inv/r.txt": "[r]\nhr\n", "inv/group_vars/a.yml": "v: 1\n" },
      ["inv"],
    );
    expect(inv.hostNames()).toEqual(["ha", "hb"]);
    expect(inv.rawHostVars("ha")).toEqual({ v: 1 });
  });

  it("runs a script with --list (and --host without _meta)", async () => {
    const dir = (await import("../../support/inventory-files.js")).tree(
      { "s.sh": `#!/bin/sh\nif [ "$1" = --list ]; then echo '{"g": ["a", "b"], "k": {"hosts": ["c"], "vars": {"x": 1}}}'; else echo "{\\"me\\": \\"$2\\"}"; fi\n` },
      ["s.sh"],
    );
    const { loadInventory } = await import("../../../src/inventory/index.js");
    const inv = await loadInventory({ sources: ["s.sh"], cwd: dir, ansibleConfig: null });
    expect(inv.hostNames()).toEqual(["a", "b", "c"]);
    expect(inv.rawHostVars("c")).toEqual({ me: "c", x: 1 });
  });

  it("a missing source is an error, not an empty inventory", async () => {
    const e = await loadError({}, ["nope.yml"]);
    expect(e.message).toMatch(/nope\.yml: inventory source does not exist/);
  });

  it("-i host1,host2 is a host list", async () => {
    const { inv } = await load({}, ["a.example.com,b.example.com:2022,"]);
    expect(inv.hostNames()).toEqual(["a.example.com", "b.example.com"]);
    expect(inv.rawHostVars("b.example.com")).toEqual({ ansible_port: 2022 });
  });
});
