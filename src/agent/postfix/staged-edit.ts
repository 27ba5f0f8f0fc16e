// A configuration request's postconf writes, all or nothing for each file:
// postconf edits copies of main.cf and master.cf in a private staging
// directory inside the instance's config directory (same file system), and
// only when every command succeeded is each changed file renamed over the
// original. An agent killed halfway leaves the originals as they were (and a
// staging directory, removed by the next edit); a settings change that needs
// several postconf calls on master.cf (fields, then -o parameters) never
// reaches the live file in part.
//
// Postfix's own writers (a `postconf -e` by hand, postmulti) do not know the
// staging directory, so the renames take part in their protocol
// (edit-file-lock.ts): under the lock of each file to replace, the original
// must still be exactly what its copy was made from. If another writer
// changed it meanwhile, nothing is renamed and the edit is made again on
// fresh copies (ATTEMPTS in all, then the request fails saying so): a
// concurrent edit is never undone.
import { chmodSync, chownSync, closeSync, fsyncSync, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { lockForEdit, type EditFileLock } from "./edit-file-lock.js";
import { PostmultiFatal } from "../postmulti/messages.js";

const STAGING_PREFIX = ".postfleet-staging-";
const FILES = ["main.cf", "master.cf"] as const;
/** Edits made on fresh copies before giving up on a file other writers keep changing. */
export const ATTEMPTS = 3;
/** Default wait for a Postfix writer that holds a file's lock (a postconf holds it for milliseconds). */
const LOCK_WAIT_MS = 10_000;

function fsyncPath(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Staging directories an earlier, killed agent left (the caller holds the host lock, so none is in use). */
function removeStale(configDir: string): void {
  for (const name of readdirSync(configDir)) if (name.startsWith(STAGING_PREFIX)) rmSync(join(configDir, name), { recursive: true, force: true });
}

/** A file as its staged copy was made from it: content, mode and owner (null: there was none). */
interface FileState {
  data: Buffer;
  mode: number;
  uid: number;
  gid: number;
}

function readState(path: string): FileState | null {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
  return { data: readFileSync(path), mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** The live file `f` is still exactly (content, mode, owner) what its copy was made from. */
function unchanged(configDir: string, f: string, originals: Map<string, FileState | null>): boolean {
  const a = readState(join(configDir, f));
  const b = originals.get(f) ?? null;
  if (a === null || b === null) return a === b;
  return a.mode === b.mode && a.uid === b.uid && a.gid === b.gid && a.data.equals(b.data);
}

/** Copy the instance's files into `stage`; what each copy was made from. */
function stageCopies(configDir: string, stage: string): Map<string, FileState | null> {
  const originals = new Map<string, FileState | null>();
  for (const f of FILES) {
    const o = readState(join(configDir, f));
    originals.set(f, o);
    if (!o) continue;
    const copy = join(stage, f);
    writeFileSync(copy, o.data, { mode: 0o600, flag: "wx" });
    chmodSync(copy, o.mode);
    if (o.uid !== process.geteuid?.() || o.gid !== process.getegid?.()) chownSync(copy, o.uid, o.gid);
  }
  return originals;
}

export interface StagedEditOptions {
  /** Longest wait for the lock of a file another Postfix writer holds (default 10 s); then code "lock". */
  lockWaitMs?: number;
  /** Stop waiting for such a lock: code "cancelled". */
  signal?: AbortSignal;
}

/**
 * Run `edit(stageDir, attempt)` (postconf -c stageDir ...) on copies of the
 * instance's files, then put each changed file in place with one rename,
 * provided no other writer changed any of those files since they were copied;
 * else again on fresh copies (attempt 1, 2...). Errors name the real
 * directory, not the staging one. Returns the files replaced.
 */
export async function stagedEdit(configDir: string, edit: (stageDir: string, attempt: number) => Promise<void>, o: StagedEditOptions = {}): Promise<string[]> {
  removeStale(configDir);
  let moved: string[] = [];
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const stage = mkdtempSync(join(configDir, STAGING_PREFIX));
    try {
      const originals = stageCopies(configDir, stage);
      try {
        await edit(stage, attempt);
      } catch (e) {
        if (e instanceof Error) e.message = e.message.split(stage).join(configDir);
        throw e;
      }
      const changed = FILES.filter((f) => {
        const copy = readState(join(stage, f));
        const original = originals.get(f) ?? null;
        return copy !== null && (original === null || !copy.data.equals(original.data));
      });
      const replaced = await commit(configDir, stage, changed, originals, o);
      if (replaced) return replaced;
      moved = changed.filter((f) => !unchanged(configDir, f, originals));
    } finally {
      rmSync(stage, { recursive: true, force: true });
    }
  }
  const names = moved.map((f) => join(configDir, f)).join(" and ");
  throw new PostmultiFatal(
    `${names || configDir} changed while this edit was being made (another process wrote it, ${ATTEMPTS} times in a row): ` +
      "nothing of this change was written, and the other writer's changes are kept; try again",
    "conflict",
  );
}

/**
 * Under the lock of each file in `changed`: if every one is still as it was
 * copied, rename the staged copies over them and return their paths; else
 * null, with nothing renamed.
 */
async function commit(configDir: string, stage: string, changed: readonly string[], originals: Map<string, FileState | null>, o: StagedEditOptions): Promise<string[] | null> {
  const locks: EditFileLock[] = [];
  try {
    // In FILES order, so two agents could not deadlock (postconf takes one at a time).
    for (const f of changed) locks.push(await lockForEdit(join(configDir, f), o.lockWaitMs ?? LOCK_WAIT_MS, o.signal));
    if (!changed.every((f) => unchanged(configDir, f, originals))) return null;
    const replaced: string[] = [];
    for (const f of changed) {
      const staged = join(stage, f);
      const live = join(configDir, f);
      fsyncPath(staged);
      renameSync(staged, live);
      replaced.push(live);
    }
    if (replaced.length) fsyncPath(configDir);
    return replaced;
  } finally {
    for (const l of locks.reverse()) l.release();
  }
}
