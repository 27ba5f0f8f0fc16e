import { describe, expect, it } from "vitest";
import { load } from "../../support/inventory-files.js";

describe("variable precedence", () => {
  it("inline all < inline groups (depth, priority, name) < group_vars/all < group_vars/<group> < host < host_vars", async () => {
    const { inv } = await load(
      {
        "inv/hosts.yml": [
          "all:",
          "  vars: {a: all, b: all, c: all, d: all}",
          "  children:",
          "    parent:",
          "      vars: {a: parent, b: parent, c: parent}",
          "      children:",
          "        child:",
          "          vars: {a: child}",
          "          hosts:",
          "            h: {d: host-inline}",
          "    zed:",
          "      vars: {b: zed, ansible_group_priority: 0}",
          "      hosts: {h: }",
          "    alpha:",
          "      vars: {c: alpha}",
          "      hosts: {h: }",
          "",
        ].join("\n"),
        "inv/group_vars/all.yml": "a: gv-all\ne: gv-all\n",
        "inv/group_vars/parent/1.yml": "e: gv-parent-1\n",
        "inv/group_vars/parent/2.yml": "e: gv-parent-2\nf: gv-parent\n",
        "inv/host_vars/h.yml": "f: hv\n",
      },
      ["inv/hosts.yml"],
    );
    // depth: parent=1, zed=1 (priority 0 sorts before priority 1), alpha=1, child=2.
    // group_vars/all beats even the child group's inline value (Ansible's documented order).
    expect(inv.rawHostVars("h")).toEqual({ a: "gv-all", b: "parent", c: "parent", d: "host-inline", e: "gv-parent-2", f: "hv" });
  });

  it("group_vars next to a playbook come after those next to the inventory", async () => {
    const { inv } = await load({ "inv/h.ini": "[g]\nh\n", "inv/group_vars/g.yml": "x: inv\n", "play/group_vars/g.yml": "x: play\n" }, ["inv/h.ini"], { playbookDir: "play" });
    expect(inv.rawHostVars("h")).toEqual({ x: "play" });
  });

  it("names the file and line where a variable was set", async () => {
    const { inv, dir } = await load({ "inv/h.ini": "[g]\nh\n[g:vars]\nx=1\n", "inv/host_vars/h.yml": "y: 2\n" }, ["inv/h.ini"]);
    expect(inv.varOrigin("h", "x")).toEqual({ file: `${dir}/inv/h.ini`, line: 4 });
    expect(inv.varOrigin("h", "y")).toEqual({ file: `${dir}/inv/host_vars/h.yml`, line: 1 });
  });

  it("a vars file that is not a mapping is an error", async () => {
    await expect(load({ "h.ini": "h\n", "host_vars/h.yml": "- a\n" }, ["h.ini"])).rejects.toThrow(/host_vars\/h\.yml:1: a vars file must hold a mapping/);
  });
});
