// The stdio agent's side of the resident agent (`--agent-persist`, on by default):
// a `persist` request records the plan; when the run's input ends, the agent
// starts the resident agent detached (its own session, no terminal, no
// output) and hands it the header (socket, secret, idle time) through a
// pipe, so that the secret never touches the disk, an argument list or an
// environment. The new process reads the bundle once and compiles the bytes
// it hashed, as the loader does: no file is run by path after its check.
import { spawn } from "node:child_process";
import { lstatSync, mkdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { PersistRequest, PersistResponse } from "../protocol/index.js";

/** What the resident agent is told at its start (over its stdin, never on disk). */
export interface ResidentHeader {
  sha256: string;
  /** The bundle, read once and checked against sha256 before it runs; its removal ends the resident agent. */
  file: string;
  socketPath: string;
  secret: string;
  idleMs: number;
  /** The login user, who must be able to connect to the socket through sshd. */
  ownerUid: number;
  ownerGid: number;
  lockTimeoutMs: number;
}

let planned: ResidentHeader | undefined;

/** The bundle this agent was started from by the loader: ~/.cache/postfleet/agent-<sha256>.cjs. */
function startedBundle(): { file: string; sha256: string } {
  const file = process.argv[1] ?? "";
  const m = /^agent-([0-9a-f]{64})\.cjs$/.exec(basename(file));
  if (!m) throw new Error("persist needs an agent started by postfleet's loader from its cache (agent-<sha256>.cjs)");
  return { file, sha256: m[1]! };
}

/** Where a root resident agent listens: a directory only root can change. */
export const ROOT_SOCKET_DIR = "/run/postfleet";

/**
 * The socket's directory. A root agent's must be one the login user cannot
 * write: in the login user's own cache, that user could swap the socket for a
 * relay of their own and ride a controller's session into root. An agent of
 * the login user's own uid listens in that user's private cache.
 */
function socketDirFor(euid: number, loginUid: number, cacheDir: string): string {
  if (euid === loginUid) return cacheDir;
  if (euid !== 0) throw new Error(`a resident agent runs as root or as the login user, not as uid ${euid}`);
  mkdirSync(ROOT_SOCKET_DIR, { recursive: true, mode: 0o755 });
  const st = lstatSync(ROOT_SOCKET_DIR);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) throw new Error(`${ROOT_SOCKET_DIR} is not a directory owned and writable by root alone`);
  return ROOT_SOCKET_DIR;
}

/** The `persist` request: remember the plan; nothing starts before the input ends. */
export function persistHandler(lockTimeoutMs: number) {
  return (req: PersistRequest): PersistResponse => {
    const { file, sha256 } = startedBundle();
    // The cache directory is the login user's (the loader checked it): the socket will be theirs to open.
    const cache = statSync(dirname(file));
    const euid = process.geteuid?.() ?? 0;
    const socketPath = join(socketDirFor(euid, cache.uid, dirname(file)), `resident-${cache.uid}-as-${euid}.sock`);
    planned = { sha256, file, socketPath, secret: req.secret, idleMs: req.idleMs, ownerUid: cache.uid, ownerGid: cache.gid, lockTimeoutMs };
    return { id: req.id, op: "persist", socketPath, idleMs: req.idleMs };
  };
}

/**
 * Reads the header from stdin, then the bundle file once (no symlink), checks
 * the sha256 of those bytes and compiles the same buffer as the resident agent.
 */
const RESIDENT_BOOT = `(function(){
var chunks=[];process.stdin.on("data",function(c){chunks.push(c);});
process.stdin.on("end",function(){
  var fs=require("fs"),h=JSON.parse(Buffer.concat(chunks).toString("utf8"));
  var fd=fs.openSync(h.file,fs.constants.O_RDONLY|fs.constants.O_NOFOLLOW),code=fs.readFileSync(fd);fs.closeSync(fd);
  if(require("crypto").createHash("sha256").update(code).digest("hex")!==h.sha256)process.exit(1);
  globalThis.__postfleetResident=h;
  var Module=require("module"),m=new Module(h.file,null);m.filename=h.file;m.paths=[];
  process.argv=[process.execPath,h.file];
  m._compile(code.toString("utf8"),h.file);
});
})()`;

/**
 * After the run: start the resident agent if one was asked for. The header is
 * small enough to sit in the pipe, so this agent exits without waiting for
 * the new one's Node.js to start.
 */
export async function handOverIfPlanned(): Promise<void> {
  const h = planned;
  planned = undefined;
  if (!h) return;
  const child = spawn(process.execPath, ["-e", RESIDENT_BOOT], { detached: true, stdio: ["pipe", "ignore", "ignore"], cwd: "/" });
  child.on("error", () => undefined);
  child.stdin.on("error", () => undefined);
  await new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 2000);
    child.stdin.end(JSON.stringify(h), () => {
      clearTimeout(t);
      resolve();
    });
  });
  child.unref();
}
