// The constructed inventory plugin against the real ansible-inventory 2.14:
// every case of corpus/constructed/ (each a directory: its files are the -i
// sources in name order, or the directory itself when its name ends in
// -dir) gives the same --list and --graph as Ansible, or, where Ansible fails
// to parse the constructed source (it warns and goes on with what it had),
// postfleet stops with the file and line. Ansible's runs are batched in one
// Python process (ansible_inventory_runs.py); postfleet's run in-process,
// plus a few runs of the CLI.
import { beforeAll, describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { InventoryError, loadInventory, renderInventory } from "../../src/inventory/index.js";
import { ANSIBLE_ENV, canonical, CORPUS, postfleet, run } from "./ansible.js";

const DIR = join(CORPUS, "constructed");

interface Case {
  name: string;
  sources: string[];
}

const CASES: Case[] = readdirSync(DIR)
  .sort()
  .map((name) => {
    const dir = join(DIR, name);
    const sources = name.endsWith("-dir") ? [dir] : readdirSync(dir).sort().filter((f) => statSync(join(dir, f)).isFile()).map((f) => join(dir, f));
    return { name, sources };
  });

const VIEWS = [
  { label: "--list", args: ["--list"], view: { list: true } as const },
  { label: "--graph", args: ["--graph"], view: { graph: "all" } as const },
];

/** The Python that runs ansible-inventory (its #! line). */
async function ansiblePython(): Promise<string> {
  const which = await run("sh", ["-c", "command -v ansible-inventory"]);
  const first = readFileSync(which.stdout.trim(), "utf8").split("\n")[0]!;
  return first.replace(/^#!\s*/, "").trim().split(/\s+/)[0]!;
}

const outDir = mkdtempSync(join(tmpdir(), "postfleet-constructed-"));
const ansibleOut = new Map<string, { text: string | undefined; code: number; stderr: string }>();

beforeAll(async () => {
  const python = await ansiblePython();
  const runs: string[][] = [];
  const keys: string[] = [];
  for (const c of CASES) {
    for (const v of VIEWS) {
      runs.push([...c.sources.flatMap((s) => ["-i", s]), ...v.args, "--output", join(outDir, `${runs.length}.out`)]);
      keys.push(`${c.name}\0${v.label}`);
    }
  }
  const r = await run(python, [resolve(import.meta.dirname, "ansible_inventory_runs.py"), JSON.stringify(runs)]);
  expect(r.code, r.stderr).toBe(0);
  (JSON.parse(r.stdout) as { code: number; stderr: string }[]).forEach((res, i) => {
    const file = join(outDir, `${i}.out`);
    ansibleOut.set(keys[i]!, { ...res, text: existsSync(file) ? readFileSync(file, "utf8") : undefined });
  });
}, 120_000);

/** The constructed source Ansible failed to parse (it warns "Failed to parse FILE with auto plugin"), if any. */
function ansibleFailure(stderr: string): string | undefined {
  // Ansible wraps its warnings at spaces and after hyphens.
  const text = stderr.replace(/-\n/g, "-").replace(/\n/g, " ");
  return /Failed to parse (\S+) with auto plugin/.exec(text)?.[1];
}

describe.each(CASES)("$name", (c) => {
  it("is what ansible-inventory shows (--list, --graph), or an error at file:line where Ansible fails", async () => {
    const list = ansibleOut.get(`${c.name}\0--list`)!;
    expect(list.code, list.stderr).toBe(0);
    const failed = ansibleFailure(list.stderr);
    const load = () => loadInventory({ sources: c.sources, cwd: DIR, warn: () => {}, ansibleConfig: null });
    if (failed) {
      const err = await load().catch((e: unknown) => e);
      expect(err, `Ansible failed: ${list.stderr}`).toBeInstanceOf(InventoryError);
      expect((err as InventoryError).file).toBe(failed);
      expect((err as InventoryError).line, (err as Error).message).toBeGreaterThan(0);
      // An error of the plugin's own, not a refusal of the plugin.
      expect((err as Error).message).not.toMatch(/plugin configuration \(plugin: .*\) is not supported/);
      return;
    }
    expect(list.stderr).not.toMatch(/Failed to parse/);
    const inv = await load();
    for (const v of VIEWS) {
      const a = ansibleOut.get(`${c.name}\0${v.label}`)!;
      expect(renderInventory(inv, v.view), v.label).toBe(a.text);
    }
  });
});

it("the corpus has cases where Ansible fails, and cases where it does not", () => {
  const failing = CASES.filter((c) => ansibleFailure(ansibleOut.get(`${c.name}\0--list`)!.stderr));
  expect(failing.length).toBeGreaterThanOrEqual(8);
  expect(CASES.length - failing.length).toBeGreaterThanOrEqual(30);
});

it("use_extra_vars: compose and keyed_groups see -e values (highest precedence), groups' conditions do not", async () => {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-constructed-extra-"));
  writeFileSync(join(dir, "a.yml"), "all:\n  hosts:\n    h1: {a: 1}\n    h2: {}\n");
  writeFileSync(
    join(dir, "b.yml"),
    'plugin: constructed\nuse_extra_vars: true\ncompose:\n  x: site ~ "-" ~ inventory_hostname\n  b: a | default(0)\ngroups:\n  g_site: site is defined\nkeyed_groups:\n  - key: site\n    prefix: s\n    parent_group: "p_{{ site }}"\n',
  );
  const a = await run("ansible-inventory", ["-i", "a.yml", "-i", "b.yml", "-e", "site=fra", "-e", "a=5", "--list"], { cwd: dir, env: ANSIBLE_ENV });
  expect(a.code, a.stderr).toBe(0);
  const theirs = JSON.parse(a.stdout) as Record<string, unknown> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
  const inv = await loadInventory({ sources: ["a.yml", "b.yml"], cwd: dir, warn: () => {}, ansibleConfig: null, extraVars: { site: "fra", a: "5" } });
  const ours = inv.list() as typeof theirs;
  // ansible-inventory also lists the -e values among every host's variables; the groups and composed values are compared.
  const groups = (l: typeof theirs) => canonical(Object.fromEntries(Object.entries(l).filter(([k]) => k !== "_meta")));
  expect(groups(ours)).toBe(groups(theirs));
  expect(theirs["g_site"]).toBeUndefined();
  for (const h of ["h1", "h2"]) {
    for (const v of ["x", "b"]) expect(ours._meta.hostvars[h]![v], `${h} ${v}`).toBe(theirs._meta.hostvars[h]![v]);
  }
  // `run -e` gives the same values to the inventory: the keyed group made from -e site=fra is there to select.
  const listed = await postfleet(["-i", "a.yml", "-i", "b.yml", "run", "rolling-restart", "--list-hosts", "-e", "site=fra", "-e", "target=s_fra"], dir);
  expect(listed.code, listed.stderr).toBe(0);
  expect(listed.stdout).toMatch(/h1[\s\S]*h2/);
});

describe("the command line", () => {
  it("postfleet inventory --list and --graph print what ansible-inventory prints; a strict failure is exit 1 with file:line", async () => {
    const sources = (name: string) => CASES.find((x) => x.name === name)!.sources.flatMap((s) => ["-i", s]);
    const ok = sources("23-keyed-parent");
    const bad = sources("05-compose-missing-strict");
    const [aList, aGraph, list, graph, failed] = await Promise.all([
      run("ansible-inventory", [...ok, "--list"], { cwd: DIR, env: ANSIBLE_ENV }),
      run("ansible-inventory", [...ok, "--graph"], { cwd: DIR, env: ANSIBLE_ENV }),
      postfleet(["inventory", ...ok, "--list"], DIR),
      postfleet(["inventory", ...ok, "--graph"], DIR),
      postfleet(["inventory", ...bad, "--list"], DIR),
    ]);
    for (const [a, ours] of [[aList, list], [aGraph, graph]] as const) {
      expect(a.code, a.stderr).toBe(0);
      expect(ours.code, ours.stderr).toBe(0);
      expect(ours.stdout).toBe(a.stdout);
    }
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe("");
    expect(failed.stderr).toMatch(/b-constructed\.yml:4: could not set where for host 10\.1\.2\.3: 'region' is undefined/);
  }, 60_000);
});
