import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { loadInventory, type LoadOptions } from "../../src/inventory/index.js";

/** A temporary directory holding the given files (paths relative to it). */
export function tree(files: Record<string, string | Buffer>, executable: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "postfleet-inv-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
    if (executable.includes(path)) chmodSync(join(dir, path), 0o755);
  }
  return dir;
}

export async function load(files: Record<string, string>, sources: string[], more: Partial<LoadOptions> = {}) {
  const dir = tree(files);
  const warnings: string[] = [];
  const inv = await loadInventory({ sources, cwd: dir, warn: (m) => warnings.push(m), ansibleConfig: null, ...more });
  return { inv, warnings, dir };
}

export async function loadError(files: Record<string, string>, sources: string[]): Promise<Error & { file?: string; line?: number }> {
  try {
    await load(files, sources);
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the inventory to be rejected");
}
