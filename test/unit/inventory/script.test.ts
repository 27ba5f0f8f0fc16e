// Inventory and vault password scripts that do not end: run
// in their own process group with a time limit, TERM then KILL to the group,
// a clear error naming the script, and nothing left running.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { InventoryError, loadInventory } from "../../../src/inventory/index.js";
import { tree } from "../../support/inventory-files.js";

/** Running (a zombie waiting for its parent counts as ended). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

function pidsIn(file: string): number[] {
  return readFileSync(file, "utf8").split(/\s+/).filter(Boolean).map(Number);
}

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cond();
}

/** A script that ignores SIGTERM and forks a child that ignores it too; both pids go to $PIDS. */
const STUBBORN = (pids: string, finalOutput = "") => `#!/bin/sh
trap '' TERM
sh -c 'trap "" TERM; echo $$ >> ${pids}; while :; do sleep 1; done' &
echo $$ >> ${pids}
${finalOutput}
while :; do sleep 1; done
`;

describe("an inventory script that does not end", () => {
  it("is stopped with its children at the time limit (TERM ignored: KILL), with an error naming it", async () => {
    const dir = tree({});
    const pids = join(dir, "pids");
    const d = tree({ "inv.sh": STUBBORN(pids) }, ["inv.sh"]);
    const t = Date.now();
    const e = await loadInventory({ sources: ["inv.sh"], cwd: d, scriptTimeoutMs: 500, ansibleConfig: null }).catch((x: unknown) => x);
    const ms = Date.now() - t;
    expect(e).toBeInstanceOf(InventoryError);
    expect((e as Error).message).toMatch(/inv\.sh: inventory script '.*inv\.sh --list' did not finish within 0\.5 s: stopped it and everything it started/);
    expect(ms).toBeLessThan(500 + 2000 + 2000);
    const started = pidsIn(pids);
    expect(started).toHaveLength(2);
    expect(await until(() => started.every((p) => !alive(p)), 2000)).toBe(true);
  }, 15_000);

  it("a script that prints its inventory and exits, leaving a child that holds its output open, does not hang", async () => {
    const dir = tree({});
    const pids = join(dir, "pids");
    const script = `#!/bin/sh
sh -c 'trap "" TERM; echo $$ >> ${pids}; while :; do sleep 1; done' &
while [ ! -s ${pids} ]; do sleep 0.05; done
echo '{"web": ["w1"]}'
`;
    const d = tree({ "inv.sh": script }, ["inv.sh"]);
    const t = Date.now();
    const inv = await loadInventory({ sources: ["inv.sh"], cwd: d, scriptTimeoutMs: 10_000, ansibleConfig: null });
    expect(inv.hostNames()).toEqual(["w1"]);
    expect(Date.now() - t).toBeLessThan(5000);
    const left = pidsIn(pids);
    expect(await until(() => left.every((p) => !alive(p)), 2000)).toBe(true);
  }, 15_000);

  it("postfleet interrupted (SIGINT, SIGTERM) while a script runs takes the script's group down", async () => {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
    const src = pathToFileURL(resolve(import.meta.dirname, "../../../src/inventory/index.ts")).href;
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const dir = tree({});
      const pids = join(dir, "pids");
      const d = tree({ "inv.sh": STUBBORN(pids), "load.mjs": `import { loadInventory } from ${JSON.stringify(src)};\nawait loadInventory({ sources: ["inv.sh"], cwd: process.cwd(), ansibleConfig: null });\n` }, ["inv.sh"]);
      const child = spawn(process.execPath, ["--import", tsx, join(d, "load.mjs")], { cwd: d, stdio: "ignore" });
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
      expect(await until(() => existsSync(pids) && pidsIn(pids).length === 2, 10_000)).toBe(true);
      child.kill(signal);
      expect(await exited).toBe(signal);
      const started = pidsIn(pids);
      // Gone within moments (5 s: a loaded machine reaps slowly), not at some later time limit.
      expect(await until(() => started.every((p) => !alive(p)), 5000)).toBe(true);
    }
  }, 40_000);
});

describe("a vault password script that does not end", () => {
  it("is stopped with its children at the time limit, with an error naming it", async () => {
    const dir = tree({});
    const pids = join(dir, "pids");
    const d = tree({ "h.ini": "[g]\nh1\n", "pw.sh": STUBBORN(pids, "echo secret") }, ["pw.sh"]);
    const e = await loadInventory({ sources: ["h.ini"], cwd: d, vaultPasswordFiles: ["pw.sh"], vaultScriptTimeoutMs: 500, ansibleConfig: null }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InventoryError);
    expect((e as Error).message).toMatch(/pw\.sh: vault password script '.*pw\.sh' did not finish within 0\.5 s: stopped it and everything it started/);
    expect((e as Error).message).not.toMatch(/secret/);
    const started = pidsIn(pids);
    expect(started).toHaveLength(2);
    expect(await until(() => started.every((p) => !alive(p)), 2000)).toBe(true);
  }, 15_000);
});
