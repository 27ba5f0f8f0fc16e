// Inventory bombs: each is a clear error with file:line within
// a second and bounded memory, never a hang or "Maximum call stack size
// exceeded"; a large but legitimate inventory still loads.
import { describe, expect, it } from "vitest";
import { InventoryError } from "../../../src/inventory/index.js";
import { encryptVault } from "../../../src/inventory/vault.js";
import { load, tree } from "../../support/inventory-files.js";
import { loadInventory, type LoadOptions } from "../../../src/inventory/index.js";

/** The error of loading `files` (sources relative to them), and how long it took. */
async function rejected(files: Record<string, string | Buffer>, sources: string[], more: Partial<LoadOptions> = {}): Promise<{ e: InventoryError; ms: number }> {
  const dir = tree(files);
  const t = Date.now();
  const e = await loadInventory({ sources, cwd: dir, warn: () => {}, ansibleConfig: null, ...more }).then(
    () => undefined,
    (x: unknown) => x,
  );
  const ms = Date.now() - t;
  if (!(e instanceof InventoryError)) throw new Error(`expected an InventoryError, got ${String(e)}`);
  return { e, ms };
}

// "Within a second" on an idle machine; the bound leaves room for a busy CI runner.
const QUICK_MS = 2000;

/** all.vars a0..a{levels-1}, each a list of nine aliases of the one before: 9^levels values. */
function aliasBomb(levels: number): string {
  const lines = ["all:", "  vars:", "    a0: &a0 [x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < levels; i++) lines.push(`    a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(", ")}]`);
  lines.push("  hosts:", "    h1:", "");
  return lines.join("\n");
}

describe("YAML aliases", () => {
  it("a 9x9 alias bomb is an error at the alias that crosses the limit, at once", async () => {
    const { e, ms } = await rejected({ "bomb.yml": aliasBomb(10) }, ["bomb.yml"]);
    expect(e.message).toMatch(/bomb\.yml:\d+: YAML aliases expand this document to more than 10,000,000 values/);
    expect(e.line).toBeGreaterThan(3);
    expect(ms).toBeLessThan(QUICK_MS);
  });

  it("the same bomb in a group_vars file", async () => {
    const bomb = aliasBomb(10).split("\n").slice(2).map((l) => l.slice(4)).filter((l) => l && !l.startsWith("hosts") && !l.startsWith("h1"));
    const { e, ms } = await rejected({ "h.ini": "[g]\nh1\n", "group_vars/g.yml": bomb.join("\n") + "\n" }, ["h.ini"]);
    expect(e.file).toMatch(/group_vars\/g\.yml$/);
    expect(e.message).toMatch(/more than 10,000,000 values/);
    expect(ms).toBeLessThan(QUICK_MS);
  });

  it("aliases below the limit are shared, not copied: a 7-level bomb (4.8 million values) loads and renders at once", async () => {
    const t = Date.now();
    const { inv } = await load({ "i.yml": aliasBomb(7) }, ["i.yml"]);
    const v = inv.hostVars("h1") as Record<string, unknown[][][][][][][]>;
    expect(v["a6"]![8]![8]![8]![8]![8]![8]![8]).toBe("x");
    expect(Date.now() - t).toBeLessThan(QUICK_MS);
  });

  it("values nested too deeply through aliases are an error with file:line", async () => {
    const lines = ["all:", "  vars:", "    v0: &v0 [x]"];
    for (let i = 1; i <= 300; i++) lines.push(`    v${i}: &v${i} [*v${i - 1}]`);
    lines.push("  hosts:", "    h1:", "");
    const { e } = await rejected({ "deep.yml": lines.join("\n") }, ["deep.yml"]);
    expect(e.message).toMatch(/deep\.yml:\d+: YAML values nested more than 200 levels deep/);
  });

  it("YAML nested thousands of levels deep (block or flow) is an error, not a stack overflow", async () => {
    const flow = `all:\n  vars:\n    x: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`;
    const a = await rejected({ "flow.yml": flow }, ["flow.yml"]);
    expect(a.e.message).toMatch(/flow\.yml:3:\d+: YAML nested too deeply to read|flow\.yml:\d+: YAML values nested more than 200 levels/);
    expect(a.e.message).not.toMatch(/call stack/);
    // 20,000 groups nested in each other, in flow style.
    const nested = `all: ${Array.from({ length: 20_000 }, (_, i) => `{children: {g${i}: `).join("")}{hosts: {h1: }}${"}}".repeat(20_000)}}\n`;
    const b = await rejected({ "nested.yml": nested }, ["nested.yml"]);
    expect(b.e.message).toMatch(/nested\.yml:\d+(:\d+)?: YAML (nested too deeply to read|values nested more than 200 levels)/);
    expect(b.e.message).not.toMatch(/call stack/);
  });

  it("JSON nested thousands of levels deep is an error", async () => {
    const { e } = await rejected({ "deep.json": `{"all": {"vars": {"x": ${"[".repeat(50_000)}${"]".repeat(50_000)}}}}` }, ["deep.json"]);
    expect(e.message).toMatch(/deep\.json:1: JSON values nested more than 200 levels deep/);
  });
});

describe("YAML size", () => {
  it("YAML text past the limit is an error before it is parsed; the same data as JSON loads", async () => {
    const hosts = Array.from({ length: 2000 }, (_, i) => `    host${i}.example.net:\n      site: fra\n`).join("");
    const { e, ms } = await rejected({ "big.yml": `g:\n  hosts:\n${hosts}` }, ["big.yml"], { limits: { maxYamlChars: 10_000 } });
    expect(e.message).toMatch(/big\.yml:1: YAML text over 0\.01 MB: .*write it as JSON/);
    expect(ms).toBeLessThan(QUICK_MS);
    const json = JSON.stringify({ g: { hosts: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`host${i}.example.net`, { site: "fra" }])) } });
    const { inv } = await load({ "big.json": json }, ["big.json"], { limits: { maxYamlChars: 10_000 } });
    expect(inv.hostNames()).toHaveLength(2000);
  });
});

describe("host ranges", () => {
  it("h[0:99999999] is an error with file:line before any name is made", async () => {
    const { e, ms } = await rejected({ "r.ini": "[g]\nh[0:99999999]\n" }, ["r.ini"]);
    expect(e.message).toMatch(/r\.ini:2: host range in 'h\[0:99999999\]' makes 100,000,000 host names; postfleet allows 100,000 per line/);
    expect(ms).toBeLessThan(QUICK_MS);
  });

  it("in a YAML host key, and as a product of two ranges", async () => {
    const { e } = await rejected({ "r.yml": "g:\n  hosts:\n    a:\n    h[1:1000]x[1:1000]:\n" }, ["r.yml"]);
    expect(e.message).toMatch(/r\.yml:4: host range in 'h\[1:1000\]x\[1:1000\]' makes 1,000,000 host names/);
  });

  it("a name made of thousands of ranges is no stack overflow", async () => {
    const { inv } = await load({ "r.ini": `[g]\nh${"[1:1]".repeat(20_000)}\n` }, ["r.ini"]);
    expect(inv.hostNames()).toEqual(["h" + "1".repeat(20_000)]);
  });

  it("the total number of hosts is capped (file:line of the first host past it)", async () => {
    const { e } = await rejected({ "r.ini": "[a]\nh[1:600]\n[b]\nk[1:600]\n" }, ["r.ini"], { limits: { maxHosts: 1000 } });
    expect(e.message).toMatch(/r\.ini:4: more than 1,000 hosts in the inventory/);
  });
});

describe("groups", () => {
  it("a 20,000-deep children chain is an error with file:line, at once (either order)", async () => {
    let down = "";
    for (let i = 0; i < 20_000; i++) down += `[g${i}:children]\ng${i + 1}\n`;
    down += "[g20000]\nh1\n";
    const a = await rejected({ "down.ini": down }, ["down.ini"]);
    expect(a.e.message).toMatch(/down\.ini:\d+: group g\d+ as a child of g\d+ nests groups more than 1,000 levels deep/);
    expect(a.ms).toBeLessThan(QUICK_MS);
    let up = "[g20000]\nh1\n";
    for (let i = 19_999; i >= 0; i--) up += `[g${i}:children]\ng${i + 1}\n`;
    const b = await rejected({ "up.ini": up }, ["up.ini"]);
    expect(b.e.message).toMatch(/up\.ini:\d+: group .* nests groups more than 1,000 levels deep/);
    expect(b.ms).toBeLessThan(QUICK_MS);
  });

  it("a 900-deep chain (which Ansible still reads) loads", async () => {
    let text = "";
    for (let i = 0; i < 900; i++) text += `[g${i}:children]\ng${i + 1}\n`;
    text += "[g900]\nh1\n";
    const { inv } = await load({ "c.ini": text }, ["c.ini"]);
    expect(inv.selectHosts("g0")).toEqual(["h1"]);
    expect(inv.groupNames("h1")).toHaveLength(901);
    expect(inv.graph().split("\n")).toHaveLength(904); // all, ungrouped, 901 groups, h1
  });

  it("150,000 hosts in one group load and select (no stack overflow)", async () => {
    const names = Array.from({ length: 150_000 }, (_, i) => `host${String(i).padStart(6, "0")}.example.net`);
    const { inv } = await load({ "big.ini": `[g]\n${names.join("\n")}\n[all:children]\ng\n` }, ["big.ini"]);
    expect(inv.selectHosts("all")).toHaveLength(150_000);
    expect(inv.selectHosts("g:!host000001.example.net")).toHaveLength(149_999);
    expect(inv.selectHosts("host00001*")).toHaveLength(10);
    expect(inv.selectHosts("all", "g[149999]")).toEqual(["host149999.example.net"]);
    expect(Object.keys(inv.list())).toContain("g");
  }, 60_000);

  it("150,000 groups under all (a dynamic inventory's group per host) load", async () => {
    const text = Array.from({ length: 150_000 }, (_, i) => `[grp${i}]\nh${i}\n`).join("");
    const { inv } = await load({ "many.ini": text }, ["many.ini"]);
    expect(inv.selectHosts("all")).toHaveLength(150_000);
    expect(inv.selectHosts("grp149999")).toEqual(["h149999"]);
  }, 60_000);
});

describe("invalid UTF-8", () => {
  it("two host names differing only in invalid bytes are an error, not one host", async () => {
    const { e } = await rejected({ "u.ini": Buffer.from("[g]\nmx\xff1\nmx\xfe1\n", "latin1") }, ["u.ini"]);
    expect(e.message).toMatch(/u\.ini:2:3: the file is not valid UTF-8 \(byte 0xff\)/);
  });

  it("in YAML, group_vars, a vault-encrypted file and a limit file", async () => {
    const a = await rejected({ "u.yml": Buffer.from("g:\n  hosts:\n    h\xc3(:\n", "latin1") }, ["u.yml"]);
    expect(a.e.message).toMatch(/u\.yml:3:6: the file is not valid UTF-8 \(byte 0xc3\)/);
    const b = await rejected({ "h.ini": "[g]\nh1\n", "group_vars/g.yml": Buffer.from("x: caf\xe9\n", "latin1") }, ["h.ini"]);
    expect(b.e.message).toMatch(/group_vars\/g\.yml:1:7: the file is not valid UTF-8/);
    const pw = tree({ pw: "secret\n" });
    const c = await rejected({ "v.yml": encryptVault(Buffer.from("g:\n  hosts:\n    h\xff:\n", "latin1"), "secret") }, ["v.yml"], {
      vaultPasswordFiles: [`${pw}/pw`],
    });
    expect(c.e.message).toMatch(/v\.yml:\d+:\d+: the decrypted text of the file is not valid UTF-8/);
    const { inv, dir } = await load({ "h.ini": "[g]\nh1\n" }, ["h.ini"]);
    const lim = tree({ "limit.txt": Buffer.from("h1\nh\xff\n", "latin1") });
    expect(() => inv.selectHosts("all", `@${lim}/limit.txt`)).toThrow(/limit\.txt:2:2: the file is not valid UTF-8/);
    void dir;
  });
});

describe("--graph of groups reached through many paths", () => {
  it("stops with an error instead of printing 2^30 lines", async () => {
    // 30 levels of two groups, each a child of both groups of the level above.
    let text = "[l0a]\nh1\n[l0b]\n";
    for (let i = 1; i <= 30; i++) text += `[l${i}a:children]\nl${i - 1}a\nl${i - 1}b\n[l${i}b:children]\nl${i - 1}a\nl${i - 1}b\n`;
    const { inv } = await load({ "dag.ini": text }, ["dag.ini"]);
    expect(inv.selectHosts("l30a")).toEqual(["h1"]);
    // A million lines are made first (a real graph of 150,000 hosts in a few groups is that long).
    expect(() => inv.graph()).toThrow(/--graph would print more than 1,000,000 lines/);
  }, 60_000);
});
