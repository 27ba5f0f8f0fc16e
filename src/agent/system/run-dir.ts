// /run/postfleet: root's directory for the host lock and a root resident
// agent's socket. One way to create and check it, whoever comes first: owned
// by root, writable by root alone (so nobody else can swap a lock file or a
// socket), and searchable by others (0711: not listable), because sshd,
// running as the login user, must reach the resident agent's socket there.
import { chmodSync, lstatSync, mkdirSync } from "node:fs";

export const ROOT_RUN_DIR = "/run/postfleet";
export const RUN_DIR_MODE = 0o711;

/** What is wrong with the directory as root's run directory, or undefined when it is fine. */
export function runDirProblem(st: { isDirectory(): boolean; uid: number; mode: number }, ownerUid: number): string | undefined {
  if (!st.isDirectory()) return "not a directory";
  if (st.uid !== ownerUid) return `owned by uid ${st.uid}, not ${ownerUid}`;
  if ((st.mode & 0o022) !== 0) return "writable by group or others";
  return undefined;
}

/**
 * Create `dir` (mode 0711) or check the one there; a directory of ours left
 * unsearchable (0700, by an older agent's lock) is made searchable, so that a
 * resident agent listening in it can be reached. Throws with the reason.
 */
export function ensureRunDir(dir: string, ownerUid: number): void {
  mkdirSync(dir, { recursive: true, mode: RUN_DIR_MODE });
  const st = lstatSync(dir);
  const problem = runDirProblem(st, ownerUid);
  if (problem) throw new Error(`${dir} is ${problem}: it must be a directory owned by uid ${ownerUid} and writable by it alone`);
  if ((st.mode & 0o001) === 0) chmodSync(dir, (st.mode & 0o777) | 0o111);
}
