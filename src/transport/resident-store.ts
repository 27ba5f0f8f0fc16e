// Where the controller keeps, per host, how to reach the resident agent it
// asked for (`--agent-persist`): the socket's path on the host and the secret
// the agent wants in the first line. One file per host, mode 0600, in a 0700
// directory of the controller's user; a missing, foreign or malformed entry
// only means "start an agent as usual".
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface ResidentEntry {
  socketPath: string;
  /** 64 hex digits; only this file and the resident agent's memory hold it. */
  secret: string;
  /** The bundle the resident agent runs. */
  sha256: string;
  nodePath: string;
  nodeVersion: string;
  /** When the run that asked for it wrote this record (ms since the epoch): a young record's agent may still be starting. */
  createdAt?: number;
}

/** Where a host's entry is: who logs in where, and as whom the agent runs. */
export interface ResidentKey {
  user: string;
  hostname: string;
  port: number;
  /** The become user, or null without become. */
  become: string | null;
  /**
   * The verified host key fingerprint of each jump host and of the host itself (HostConnection.hostIdentity):
   * a secret is only ever sent to the host whose key it was made for, never to another host that answers at
   * the same address and port through another jump host.
   */
  identity: readonly string[];
}

/**
 * Is `socketPath` where the agent on the host must listen for this record? A root agent listens in
 * /run/postfleet only (root's alone), an agent of the login user's own uid in the private cache its
 * bundle was verified in; any other answer (a swapped directory, a foreign agent) is not recorded.
 */
export function expectedResidentSocket(socketPath: string, o: { become: string | null; bundlePath: string }): boolean {
  const root = /^\/run\/postfleet\/resident-(\d+)-as-0\.sock$/.exec(socketPath);
  if (o.become === "root") return root !== null;
  const dir = o.bundlePath.slice(0, o.bundlePath.lastIndexOf("/"));
  const own = /^resident-(\d+)-as-(\d+)\.sock$/.exec(socketPath.slice(dir.length + 1));
  if (socketPath.startsWith(`${dir}/`) && own && own[1] === own[2]) return true;
  // Logged in as root without become: root's own directory.
  return root !== null && root[1] === "0";
}

export function defaultResidentDir(): string {
  const state = process.env.XDG_STATE_HOME || join(homedir(), ".local", "state");
  return join(state, "postfleet", "resident");
}

const isEntry = (e: unknown): e is ResidentEntry =>
  typeof e === "object" &&
  e !== null &&
  typeof (e as ResidentEntry).socketPath === "string" &&
  /^[0-9a-f]{64}$/.test(String((e as ResidentEntry).secret)) &&
  /^[0-9a-f]{64}$/.test(String((e as ResidentEntry).sha256));

export class ResidentStore {
  constructor(readonly dir: string = defaultResidentDir()) {}

  private file(k: ResidentKey): string {
    const id = createHash("sha256").update(JSON.stringify([k.user, k.hostname, k.port, k.become, k.identity])).digest("hex").slice(0, 32);
    return join(this.dir, `${id}.json`);
  }

  /** The directory, private to this user; false when it cannot be (then nothing is stored). */
  private ensureDir(): boolean {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      const st = statSync(this.dir);
      if (st.uid !== process.getuid?.()) return false;
      if ((st.mode & 0o077) !== 0) chmodSync(this.dir, 0o700);
      return true;
    } catch {
      return false;
    }
  }

  get(k: ResidentKey): ResidentEntry | undefined {
    try {
      const f = this.file(k);
      const st = statSync(f);
      if (st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0) return undefined;
      const e: unknown = JSON.parse(readFileSync(f, "utf8"));
      return isEntry(e) ? e : undefined;
    } catch {
      return undefined;
    }
  }

  set(k: ResidentKey, e: ResidentEntry): void {
    if (!this.ensureDir()) return;
    const f = this.file(k);
    const tmp = `${f}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(e), { mode: 0o600 });
    renameSync(tmp, f);
  }

  delete(k: ResidentKey): void {
    rmSync(this.file(k), { force: true });
  }
}
