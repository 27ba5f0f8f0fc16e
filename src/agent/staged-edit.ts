// A configuration request's postconf writes, all or nothing for each file:
// postconf edits copies of main.cf and master.cf in a private staging
// directory inside the instance's config directory (same file system), and
// only when every command succeeded is each changed file renamed over the
// original. An agent killed halfway leaves the originals as they were (and a
// staging directory, removed by the next edit); a settings change that needs
// several postconf calls on master.cf (fields, then -o parameters) never
// reaches the live file in part.
import { chmodSync, chownSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const STAGING_PREFIX = ".postfleet-staging-";
const FILES = ["main.cf", "master.cf"] as const;

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

/**
 * Run `edit(stageDir)` (postconf -c stageDir ...) on copies of the instance's
 * files, then put each changed file in place with one rename. Errors name the
 * real directory, not the staging one. Returns the files replaced.
 */
export async function stagedEdit(configDir: string, edit: (stageDir: string) => Promise<void>): Promise<string[]> {
  removeStale(configDir);
  const stage = mkdtempSync(join(configDir, STAGING_PREFIX));
  try {
    for (const f of FILES) {
      const src = join(configDir, f);
      if (!existsSync(src)) continue;
      const st = statSync(src);
      copyFileSync(src, join(stage, f));
      chmodSync(join(stage, f), st.mode & 0o7777);
      if (st.uid !== process.geteuid?.() || st.gid !== process.getegid?.()) chownSync(join(stage, f), st.uid, st.gid);
    }
    try {
      await edit(stage);
    } catch (e) {
      if (e instanceof Error) e.message = e.message.split(stage).join(configDir);
      throw e;
    }
    const replaced: string[] = [];
    for (const f of FILES) {
      const staged = join(stage, f);
      const live = join(configDir, f);
      if (!existsSync(staged)) continue;
      if (existsSync(live) && readFileSync(staged).equals(readFileSync(live))) continue;
      fsyncPath(staged);
      renameSync(staged, live);
      replaced.push(live);
    }
    if (replaced.length) fsyncPath(configDir);
    return replaced;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}
