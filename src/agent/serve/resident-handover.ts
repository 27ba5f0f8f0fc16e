// The stdio agent's side of the resident agent (`--agent-persist`, on by default):
// a `persist` request starts the resident agent at once, detached (its own
// session, no terminal, no output), and hands it the header (socket, secret,
// idle time) through a pipe, so that the secret never touches the disk, an
// argument list or an environment. It starts while the run that asked for it
// goes on, so that it listens before that run ends and a run right after it
// finds it (started at the end of the run, it was still starting when
// back-to-back runs came). The new process reads the bundle once and
// compiles the bytes it hashed, as the loader does: no file is run by path
// after its check.
import { spawn } from "node:child_process";
import { basename, dirname, join } from "node:path";
import type { PersistRequest, PersistResponse } from "../../protocol/index.js";
import { ensureRunDir, ROOT_RUN_DIR } from "../system/run-dir.js";

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
  /**
   * A root agent started through sudo: the login user's name. Every attach asks sudo whether that user
   * may still run commands as root, so a right revoked since is not kept alive by the resident agent.
   */
  sudoUser?: string;
  lockTimeoutMs: number;
}

/** Idle time and lifetime caps of a resident agent, whatever a caller asks. */
export const MAX_RESIDENT_IDLE_MS = 3_600_000;
export const MAX_RESIDENT_LIFE_MS = 12 * 3_600_000;

/** The bundle this agent was started from by the loader: ~/.cache/postfleet/agent-<sha256>.cjs. */
function startedBundle(): { file: string; sha256: string } {
  const file = process.argv[1] ?? "";
  const m = /^agent-([0-9a-f]{64})\.cjs$/.exec(basename(file));
  if (!m) throw new Error("persist needs an agent started by postfleet's loader from its cache (agent-<sha256>.cjs)");
  return { file, sha256: m[1]! };
}

/** The login user behind this process, as sudo states it (sudo sets SUDO_* itself; the caller cannot). */
export interface LoginIdentity {
  uid: number;
  gid: number;
  /** Set when the agent runs as root through sudo for a non-root login user. */
  sudoUser?: string;
}

const id = (v: string | undefined): number | undefined => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);

/**
 * Who the resident agent must serve and where it listens, decided from this
 * process's own identity and sudo's variables only: nothing under the login
 * user's home (which that user can swap for a symlink at any moment) is
 * trusted for it. A root agent always listens in /run/postfleet; an agent of
 * the login user's own uid in the directory it was started from, which is
 * that user's own.
 */
export function residentPlace(euid: number, env: NodeJS.ProcessEnv, bundleDir: string): { dir: string; login: LoginIdentity } {
  if (euid !== 0) {
    const sudoUid = id(env.SUDO_UID);
    if (sudoUid !== undefined && sudoUid !== euid) throw new Error(`a resident agent runs as root or as the login user, not as uid ${euid}`);
    return { dir: bundleDir, login: { uid: euid, gid: process.getegid?.() ?? euid } };
  }
  const uid = id(env.SUDO_UID) ?? 0;
  const gid = id(env.SUDO_GID) ?? 0;
  if (uid === 0) return { dir: ROOT_RUN_DIR, login: { uid: 0, gid: 0 } };
  const user = env.SUDO_USER;
  if (!user || !/^[A-Za-z0-9._][A-Za-z0-9._@-]*\$?$/.test(user)) throw new Error("SUDO_USER is not a user name: cannot tell the login user under become");
  return { dir: ROOT_RUN_DIR, login: { uid, gid, sudoUser: user } };
}

/** The socket's name: whose sshd may open it, and as whom the agent behind it runs. */
export function residentSocketName(loginUid: number, euid: number): string {
  return `resident-${loginUid}-as-${euid}.sock`;
}

let planned: ResidentHeader | undefined;
let starting: Promise<void> | undefined;

/** The `persist` request: start the resident agent now; it listens while this run goes on. */
export function persistHandler(lockTimeoutMs: number) {
  return (req: PersistRequest): PersistResponse => {
    const { file, sha256 } = startedBundle();
    const euid = process.geteuid?.() ?? 0;
    const { dir, login } = residentPlace(euid, process.env, dirname(file));
    // Never leave behind a resident agent nobody can reach: sshd, as the login user, must enter its directory.
    if (dir === ROOT_RUN_DIR) ensureRunDir(ROOT_RUN_DIR, 0);
    const socketPath = join(dir, residentSocketName(login.uid, euid));
    const idleMs = Math.min(Math.max(1, Math.trunc(req.idleMs)), MAX_RESIDENT_IDLE_MS);
    planned = {
      sha256,
      file,
      socketPath,
      secret: req.secret,
      idleMs,
      ownerUid: login.uid,
      ownerGid: login.gid,
      ...(login.sudoUser ? { sudoUser: login.sudoUser } : {}),
      lockTimeoutMs,
    };
    starting = startResident();
    return { id: req.id, op: "persist", socketPath, idleMs };
  };
}

/**
 * Reads the header (one line) from stdin, then the bundle file once (no
 * symlink), checks the sha256 of those bytes and compiles the same buffer as
 * the resident agent. stdin stays open: its end says that the agent which
 * started this one (and the run it serves) is gone, whichever way it went.
 */
const RESIDENT_BOOT = `(function(){
var buf=Buffer.alloc(0),parent=globalThis.__postfleetResidentParent={ended:false,onEnd:null};
function gone(){if(parent.ended)return;parent.ended=true;if(parent.onEnd)parent.onEnd();}
process.stdin.on("end",gone);process.stdin.on("close",gone);process.stdin.on("error",gone);
function onData(c){
  buf=Buffer.concat([buf,c]);var nl=buf.indexOf(10);if(nl<0)return;
  process.stdin.removeListener("data",onData);process.stdin.on("data",function(){});
  var fs=require("fs"),h=JSON.parse(buf.subarray(0,nl).toString("utf8"));
  var fd=fs.openSync(h.file,fs.constants.O_RDONLY|fs.constants.O_NOFOLLOW),code=fs.readFileSync(fd);fs.closeSync(fd);
  if(require("crypto").createHash("sha256").update(code).digest("hex")!==h.sha256)process.exit(1);
  globalThis.__postfleetResident=h;
  var Module=require("module"),m=new Module(h.file,null);m.filename=h.file;m.paths=[];
  process.argv=[process.execPath,h.file];
  m._compile(code.toString("utf8"),h.file);
}
process.stdin.on("data",onData);
})()`;

/**
 * Start the planned resident agent (once). The header goes down a pipe that
 * stays open while this agent lives: the resident agent counts its idle time
 * from that pipe's end, so it does not expire during a run longer than it.
 * Nothing waits for its Node.js.
 */
function startResident(): Promise<void> {
  const h = planned;
  planned = undefined;
  if (!h) return Promise.resolve();
  const child = spawn(process.execPath, ["-e", RESIDENT_BOOT], { detached: true, stdio: ["pipe", "ignore", "ignore"], cwd: "/" });
  child.on("error", () => undefined);
  child.stdin.on("error", () => undefined);
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 2000);
    child.stdin.write(`${JSON.stringify(h)}\n`, () => {
      clearTimeout(t);
      resolve();
    });
  });
}

/** At the end of the run: the resident agent a `persist` started has been handed its header. */
export async function handOverIfPlanned(): Promise<void> {
  await starting;
}
