import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadInventory } from "../../src/inventory/index.js";
import { loadPlaybook, PlaybookError, type LoadPlaybookOptions, type Playbook } from "../../src/playbook/index.js";

/** mta01..mtaNN in group mta (site fra: the odd ones), plus the host vars given as INI text. */
export function fleetIni(n: number, extra = ""): string {
  const names = Array.from({ length: n }, (_, i) => `mta${String(i + 1).padStart(2, "0")}`);
  return `[mta]\n${names.join("\n")}\n[fra]\n${names.filter((_, i) => i % 2 === 0).join("\n")}\n${extra}`;
}

export async function inventoryOf(ini: string) {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-pb-"));
  writeFileSync(join(dir, "hosts.ini"), ini);
  const warnings: string[] = [];
  const inventory = await loadInventory({ sources: [join(dir, "hosts.ini")], cwd: dir, ansibleConfig: null, warn: (m) => warnings.push(m) });
  return { inventory, dir, warnings };
}

type Opts = Partial<LoadPlaybookOptions> & { ini?: string };

/** Load playbook text (as file "pb.yml") against a small fleet (default 10 hosts). */
export async function load(text: string, o: Opts = {}): Promise<Playbook> {
  const { inventory } = await inventoryOf(o.ini ?? fleetIni(10));
  const { ini: _ini, ...rest } = o;
  return loadPlaybook("pb.yml", { inventory, interactive: false, text, ...rest });
}

/** The problems of a playbook, one "pb.yml:L:C: message" per entry. */
export async function problems(text: string, o: Opts = {}): Promise<string[]> {
  try {
    await load(text, o);
  } catch (e) {
    if (e instanceof PlaybookError) return e.message.split("\n");
    throw e;
  }
  throw new Error("expected the playbook to be rejected");
}
