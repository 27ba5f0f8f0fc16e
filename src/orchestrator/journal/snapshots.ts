// The controller's copies of the files an on_gate_failure: revert step kept
// (steps/revert.ts): RUN_DIR/revert/HOST/INSTANCE/{main.cf,master.cf},
// directories 0700 and files 0600 like the journal, written once per
// instance and run (the first copy is the one to go back to). `postfleet
// resume` reads them back to finish a revert the stopped run had begun. Like
// the journal's records, they are on disk before the next request leaves for
// a host (syncSnapshotFiles, awaited by the recorder's request barrier).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";

export const SNAPSHOT_DIR = "revert";
const FILE_NAME = /^(main|master)\.cf$/;

/** A host or instance name as one path component (no separators, no dot names). */
export function component(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._@-]/g, "_");
  return s === "." || s === ".." || s === "" ? `_${s}` : s;
}

export function snapshotPath(runDir: string, host: string, instance: string): string {
  return join(runDir, SNAPSHOT_DIR, component(host), component(instance));
}

/**
 * Write the copy (base64 by file name); returns its directory. An existing
 * copy is kept (the earliest is the one to restore). The files written and the
 * directories whose entries changed are added to `unsynced`, for syncSnapshotFiles.
 */
export function keepSnapshotFiles(
  runDir: string,
  host: string,
  instance: string,
  files: Readonly<Record<string, string>>,
  unsynced?: Set<string>,
): string {
  const dir = snapshotPath(runDir, host, instance);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dirs = [join(runDir, SNAPSHOT_DIR), join(runDir, SNAPSHOT_DIR, component(host)), dir];
  for (const d of dirs) chmodSync(d, 0o700);
  for (const [f, b64] of Object.entries(files)) {
    if (!FILE_NAME.test(f)) continue;
    const dest = join(dir, f);
    if (existsSync(dest)) continue;
    const tmp = join(dir, `.${f}.tmp`);
    writeFileSync(tmp, Buffer.from(b64, "base64"), { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, dest);
    if (unsynced) for (const p of [dest, runDir, ...dirs]) unsynced.add(p);
  }
  return dir;
}

/**
 * fsync each path (files, and directories for the entries made in them), all
 * at once. Never rejects: a copy that does not reach the disk still leaves
 * the host's own copy (steps/revert.ts) and the run's copy in memory.
 */
export async function syncSnapshotFiles(paths: Iterable<string>): Promise<void> {
  await Promise.allSettled(
    [...paths].map(async (p) => {
      const fh = await open(p, "r");
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }),
  );
}

/** The copy as base64 by file name, or undefined when the run kept none for this instance. */
export function readSnapshotFiles(runDir: string, host: string, instance: string): Record<string, string> | undefined {
  const dir = snapshotPath(runDir, host, instance);
  const out: Record<string, string> = {};
  for (const f of ["main.cf", "master.cf"]) if (existsSync(join(dir, f))) out[f] = readFileSync(join(dir, f)).toString("base64");
  return Object.keys(out).length ? out : undefined;
}
