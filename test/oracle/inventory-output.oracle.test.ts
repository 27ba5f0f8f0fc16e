// `postfleet inventory` output options against the real ansible-inventory
// 2.14: --yaml, --toml, --export, --vars (with --graph), --output, over the
// corpus. Ansible's runs are batched in one Python process
// (ansible_inventory_runs.py), postfleet's are in-process (renderInventory,
// the code the CLI calls), plus a few runs of the CLI itself.
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { loadInventory, renderInventory, type InventoryView, type RenderOptions } from "../../src/inventory/index.js";
import { canonical, CORPUS, postfleet, REPO, run } from "./ansible.js";

interface Case {
  name: string;
  sources: string[];
  /** Why the text may differ from Ansible's (then parsed output is compared). */
  differs?: string;
}

const CASES: Case[] = [
  { name: "INI basics", sources: ["01-basic.ini"] },
  { name: "INI typing", sources: ["02-typing.ini"], differs: "whole floats (1000.0) and tuples are held as JavaScript numbers and lists" },
  { name: "ranges", sources: ["03-ranges.ini"] },
  { name: "YAML nesting", sources: ["04-nested.yml"] },
  { name: "priorities", sources: ["05-priority.yml"] },
  { name: "directory with group_vars/host_vars", sources: ["06-dir"] },
  { name: "script with _meta", sources: ["07-script.sh"] },
  { name: "script with --host", sources: ["08-script-host.sh"] },
  { name: "overlapping groups", sources: ["09-overlap.ini"] },
  { name: "deep chain", sources: ["10-deepchain.yml"] },
  { name: "YAML 1.1 typing", sources: ["11-yaml-typing.yml"], differs: "dates are kept as text, whole floats as integers, an integer-like key moves first" },
  { name: "group_vars next to a file", sources: ["12-filevars/fleet.yml"] },
  { name: "templates kept as text", sources: ["13-templates.yml"] },
  { name: "groups only, empty groups", sources: ["14-groups-only.ini"] },
  { name: "template chains", sources: ["15-template-chain.ini"] },
  { name: "scalars that need quoting, folding, escapes", sources: ["16-output-scalars.yml"] },
  { name: "a group under two parents", sources: ["17-multi-parent.yml"] },
  { name: "ungrouped hosts only", sources: ["18-ungrouped.ini"] },
  { name: "several sources", sources: ["01-basic.ini", "04-nested.yml", "07-script.sh"] },
  { name: "example fleet (YAML)", sources: [join(REPO, "inventories/example.yml")] },
  { name: "example fleet (INI)", sources: [join(REPO, "inventories/example.ini")] },
];

interface Variant {
  label: string;
  args: string[];
  view: (hosts: string[]) => InventoryView;
  opts: RenderOptions;
}

const VARIANTS: Variant[] = [
  { label: "--list --yaml", args: ["--list", "--yaml"], view: () => ({ list: true }), opts: { yaml: true } },
  { label: "--list --toml", args: ["--list", "--toml"], view: () => ({ list: true }), opts: { toml: true } },
  { label: "--list --export", args: ["--list", "--export"], view: () => ({ list: true }), opts: { export: true } },
  { label: "--list --yaml --export", args: ["--list", "--yaml", "--export"], view: () => ({ list: true }), opts: { yaml: true, export: true } },
  { label: "--list --toml --export", args: ["--list", "--toml", "--export"], view: () => ({ list: true }), opts: { toml: true, export: true } },
  { label: "--graph --vars", args: ["--graph", "--vars"], view: () => ({ graph: "all" }), opts: { vars: true } },
  { label: "--graph --vars --export", args: ["--graph", "--vars", "--export"], view: () => ({ graph: "all" }), opts: { vars: true, export: true } },
  { label: "--host FIRST --yaml", args: ["--yaml"], view: (h) => ({ host: h[0]! }), opts: { yaml: true } },
  { label: "--host LAST --toml", args: ["--toml"], view: (h) => ({ host: h[h.length - 1]! }), opts: { toml: true } },
  { label: "--host LAST --export", args: ["--export"], view: (h) => ({ host: h[h.length - 1]! }), opts: { export: true } },
];

/** The Python that runs ansible-inventory (its #! line). */
async function ansiblePython(): Promise<string> {
  const which = await run("sh", ["-c", "command -v ansible-inventory"]);
  const first = readFileSync(which.stdout.trim(), "utf8").split("\n")[0]!;
  return first.replace(/^#!\s*/, "").trim().split(/\s+/)[0]!;
}

let python: string;
const outDir = mkdtempSync(join(tmpdir(), "postfleet-inv-out-"));
/** Ansible's text (undefined: it wrote nothing) and exit status, per case and variant. */
const ansibleOut = new Map<string, { text: string | undefined; code: number; stderr: string }>();
const hostsOf = new Map<string, string[]>();
const key = (c: Case, v: Variant): string => `${c.name}\0${v.label}`;

beforeAll(async () => {
  python = await ansiblePython();
  const runs: string[][] = [];
  const keys: string[] = [];
  for (const c of CASES) {
    const inv = await loadInventory({ sources: c.sources, cwd: CORPUS, warn: () => {}, ansibleConfig: null });
    const hosts = inv.hostNames();
    hostsOf.set(c.name, hosts);
    for (const v of VARIANTS) {
      const view = v.view(hosts);
      const file = join(outDir, `${runs.length}.out`);
      runs.push([...c.sources.flatMap((s) => ["-i", s]), ...v.args, ...("host" in view ? ["--host", view.host] : []), "--output", file]);
      keys.push(key(c, v));
    }
  }
  const r = await run(python, [resolve(import.meta.dirname, "ansible_inventory_runs.py"), JSON.stringify(runs)]);
  expect(r.code, r.stderr).toBe(0);
  const results = JSON.parse(r.stdout) as { code: number; stderr: string }[];
  results.forEach((res, i) => {
    const file = join(outDir, `${i}.out`);
    ansibleOut.set(keys[i]!, { ...res, text: existsSync(file) ? readFileSync(file, "utf8") : undefined });
  });
}, 120_000);

/** TOML documents parsed by Python's tomllib (a real TOML reader), as JSON. */
async function parseToml(texts: string[]): Promise<unknown[]> {
  const r = await run(python, ["-c", "import json,sys,tomllib\nprint(json.dumps([tomllib.loads(t) for t in json.load(sys.stdin)], default=str))"], { input: JSON.stringify(texts) });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as unknown[];
}

/** YAML parsed as data, !vault values as their text. */
const parseYamlData = (t: string): unknown => parseYaml(t, { customTags: [{ tag: "!vault", resolve: (s: string) => s }] });

describe.each(CASES)("$name", (c) => {
  it.each(VARIANTS)("$label is ansible-inventory's", async (v) => {
    const a = ansibleOut.get(key(c, v))!;
    const inv = await loadInventory({ sources: c.sources, cwd: CORPUS, warn: () => {}, ansibleConfig: null });
    const ours = renderInventory(inv, v.view(hostsOf.get(c.name)!), v.opts);
    if (a.text === undefined) {
      // Nothing to show (a host without variables as TOML): Ansible exits 1, the CLI too (below).
      expect(a.code, a.stderr).toBe(1);
      expect(ours).toBe("");
      return;
    }
    expect(a.code, a.stderr).toBe(0);
    const theirs = a.text;
    if (!c.differs) {
      expect(ours).toBe(theirs);
      return;
    }
    // Parsed: the same data.
    if (v.opts.yaml) expect(canonical(parseYamlData(ours))).toBe(canonical(parseYamlData(theirs)));
    else if (v.opts.toml) {
      const [x, y] = await parseToml([ours, theirs]);
      expect(canonical(x)).toBe(canonical(y));
    } else if (v.opts.vars) {
      // The tree and the variable names; values may be printed differently (see differs).
      const names = (t: string) => t.split("\n").map((l) => l.replace(/\{([^ ]*) = .*$/, "{$1}"));
      expect(names(ours)).toEqual(names(theirs));
    } else expect(canonical(JSON.parse(ours))).toBe(canonical(JSON.parse(theirs)));
  });
});

describe("the command line", () => {
  it("--output FILE writes what ansible-inventory --output writes (no final newline added), -y is --yaml", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postfleet-inv-output-"));
    for (const args of [["--list", "-y"], ["--list", "--toml", "--export"], ["--graph", "--vars"], ["--list"]]) {
      const mine = join(dir, "ours"), theirs = join(dir, "theirs");
      const [a, ours] = await Promise.all([
        run("ansible-inventory", ["-i", "17-multi-parent.yml", ...args, "--output", theirs]),
        postfleet(["inventory", "-i", "17-multi-parent.yml", ...args, "--output", mine]),
      ]);
      expect(a.code).toBe(0);
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.stdout).toBe("");
      expect(readFileSync(mine, "utf8")).toBe(readFileSync(theirs, "utf8"));
    }
  });

  it("stdout gets the text and one final newline, as ansible-inventory prints it", async () => {
    for (const args of [["--list", "--yaml"], ["--graph", "--vars"], ["--host", "relay1", "--toml"]]) {
      const [a, ours] = await Promise.all([run("ansible-inventory", ["-i", "17-multi-parent.yml", ...args]), postfleet(["inventory", "-i", "17-multi-parent.yml", ...args])]);
      expect(a.code).toBe(0);
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.stdout).toBe(a.stdout);
    }
  });

  it("nothing to print (a host without variables as TOML) is exit status 1, as in Ansible", async () => {
    const [a, ours] = await Promise.all([
      run("ansible-inventory", ["-i", "18-ungrouped.ini", "--host", "beta.example.org", "--toml", "--export"]),
      postfleet(["inventory", "-i", "18-ungrouped.ini", "--host", "beta.example.org", "--toml", "--export"]),
    ]);
    expect(a.code).toBe(1);
    expect(a.stdout).toBe("");
    expect(ours.code).toBe(1);
    expect(ours.stdout).toBe("");
  });

  it("a list mixing tables and other values cannot be TOML: both refuse", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postfleet-inv-toml-"));
    writeFileSync(join(dir, "inv.yml"), "g:\n  hosts:\n    h1:\n      l: [a, {b: 1}]\n");
    const [a, ours] = await Promise.all([run("ansible-inventory", ["-i", "inv.yml", "--list", "--toml"], { cwd: dir }), postfleet(["inventory", "-i", "inv.yml", "--list", "--toml"], dir)]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/cannot be represented in TOML/);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/cannot be represented in TOML/);
    expect(ours.stdout).toBe("");
  });

  it("--yaml with --toml is refused", async () => {
    const ours = await postfleet(["inventory", "-i", "01-basic.ini", "--list", "--yaml", "--toml"]);
    expect(ours.code).toBe(1);
    expect(ours.stderr).toMatch(/at most one of --yaml and --toml/);
  });
});
