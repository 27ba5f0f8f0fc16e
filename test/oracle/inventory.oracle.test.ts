// Differential tests: the real Ansible 2.14 (ansible-inventory, ansible
// --list-hosts) against postfleet on the same inventories.
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { loadInventory } from "../../src/inventory/index.js";
import { ansible, ansibleListHosts, ansibleOrderIsDeterministic, canonical, CORPUS, postfleet, REPO } from "./ansible.js";

interface Case {
  name: string;
  sources: string[];
}

const CASES: Case[] = [
  { name: "INI basics", sources: ["01-basic.ini"] },
  { name: "INI typing and quoting", sources: ["02-typing.ini"] },
  { name: "ranges with numbers, letters, steps", sources: ["03-ranges.ini"] },
  { name: "YAML deep nesting", sources: ["04-nested.yml"] },
  { name: "group priorities", sources: ["05-priority.yml"] },
  { name: "directory with group_vars/host_vars and skipped files", sources: ["06-dir"] },
  { name: "dynamic script with _meta", sources: ["07-script.sh"] },
  { name: "dynamic script with --host", sources: ["08-script-host.sh"] },
  { name: "overlapping groups", sources: ["09-overlap.ini"] },
  { name: "deep single chain", sources: ["10-deepchain.yml"] },
  { name: "YAML 1.1 typing, anchors and merge keys", sources: ["11-yaml-typing.yml"] },
  { name: "group_vars/host_vars next to a file", sources: ["12-filevars/fleet.yml"] },
  { name: "template references kept as text", sources: ["13-templates.yml"] },
  { name: "children declared before groups, empty groups", sources: ["14-groups-only.ini"] },
  { name: "several -i sources", sources: ["01-basic.ini", "04-nested.yml", "07-script.sh"] },
  { name: "example fleet (YAML)", sources: [join(REPO, "inventories/example.yml")] },
  { name: "example fleet (INI)", sources: [join(REPO, "inventories/example.ini")] },
];

const iArgs = (sources: string[]): string[] => sources.flatMap((s) => ["-i", s]);
const load = (sources: string[], warn: (m: string) => void = () => {}) =>
  loadInventory({ sources, cwd: CORPUS, warn, ansibleConfig: null });

describe.each(CASES)("$name", ({ sources }) => {
  it("--list matches ansible-inventory --list", async () => {
    const [a, ours] = await Promise.all([ansible("ansible-inventory", ["--list", ...iArgs(sources)]), postfleet(["inventory", "--list", ...iArgs(sources)])]);
    expect(a.code).toBe(0);
    expect(ours.stderr).not.toMatch(/error/i);
    expect(ours.code).toBe(0);
    expect(canonical(JSON.parse(ours.stdout))).toBe(canonical(JSON.parse(a.stdout)));
    // Same text too, wherever no Python float is printed (1.0 vs 1).
    if (!/\d\.0\b/.test(a.stdout)) expect(ours.stdout).toBe(a.stdout);
  });

  it("--graph matches ansible-inventory --graph", async () => {
    const inv = await load(sources);
    const a = await ansible("ansible-inventory", ["--graph", ...iArgs(sources)]);
    expect(a.code).toBe(0);
    expect(inv.graph() + "\n").toBe(a.stdout);
  });

  it("--host matches ansible-inventory --host for the first and last host", async () => {
    const inv = await load(sources);
    const names = inv.hostNames();
    for (const h of [names[0]!, names[names.length - 1]!]) {
      const a = await ansible("ansible-inventory", ["--host", h, ...iArgs(sources)]);
      expect(a.code).toBe(0);
      expect(canonical(inv.rawHostVars(h))).toBe(canonical(JSON.parse(a.stdout)));
    }
  });

  it("all hosts in Ansible's order", async () => {
    const inv = await load(sources);
    const a = await ansibleListHosts(sources, "all");
    if (ansibleOrderIsDeterministic(inv.data.groups.get("all")!)) expect(inv.hostNames()).toEqual(a.hosts);
    else expect([...inv.hostNames()].sort()).toEqual([...a.hosts].sort());
  });
});


describe("command-line output is ansible-inventory's text", () => {
  it("--graph GROUP for a subgroup", async () => {
    const [a, ours] = await Promise.all([ansible("ansible-inventory", ["--graph", "country", "-i", "04-nested.yml"]), postfleet(["inventory", "--graph", "country", "-i", "04-nested.yml"])]);
    expect(a.code).toBe(0);
    expect(ours.stdout).toBe(a.stdout);
  });

  it("--host NAME", async () => {
    const [a, ours] = await Promise.all([
      ansible("ansible-inventory", ["--host", "out1.example.net", "-i", "06-dir"]),
      postfleet(["inventory", "--host", "out1.example.net", "-i", "06-dir"]),
    ]);
    expect(a.code).toBe(0);
    expect(ours.stdout).toBe(a.stdout);
  });

  it("--graph of a group that does not exist fails", async () => {
    const ours = await postfleet(["inventory", "--graph", "nosuch", "-i", "04-nested.yml"]);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/'nosuch' is not a group/);
  });
});
