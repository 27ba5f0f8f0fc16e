// The resident agent: started detached by an agent whose run asked to persist
// (resident-handover.ts), it serves protocol 2 on a Unix socket (mode 0600,
// owned by the login user, so sshd can forward a connection to it for that
// user and nobody else; a root agent's in /run/postfleet, which that user
// cannot change), one serve loop per connection. A caller's first line must present the secret of the
// controller that asked for it; otherwise it is answered with an error and
// dropped; a root agent started through sudo also asks sudo, at every attach,
// whether the login user may still run commands as root, and exits when not.
// It exits after `idleMs` (at most an hour) without a served caller (refused
// callers do not keep it alive), and retires after 12 hours whatever its use; when its socket or
// bundle file is replaced or removed, or a caller expects another bundle, it
// takes no new caller and exits once the runs using it end; it exits at once
// when asked (`postfleet agent stop`) and on SIGTERM/SIGHUP/SIGINT. It grants nothing its user did not have:
// root only to a caller that holds the secret.
import { execFile } from "node:child_process";
import { timingSafeEqual } from "node:crypto";
import { chownSync, existsSync, renameSync, statSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { AttachLine } from "../../protocol/index.js";
import { releaseAllLocks } from "../system/host-lock.js";
import { enablePostconfReadCache } from "../postfix/postconf-cache.js";
import { MAX_RESIDENT_IDLE_MS, MAX_RESIDENT_LIFE_MS, type ResidentHeader } from "./resident-handover.js";
import { agentHandlers } from "./serve.js";
import { createServeLoop, type ServeLoop } from "./serve-loop.js";
import { processEnv } from "../system/process.js";

const ATTACH_TIMEOUT_MS = 5000;
const ATTACH_MAX_BYTES = 4096;
const WATCH_INTERVAL_MS = 2000;
const SUDO_CHECK_TIMEOUT_MS = 10_000;
/** sudo is looked up here only, never on a caller's PATH. */
const SAFE_PATH = "/usr/bin:/bin:/usr/sbin:/sbin";

/**
 * Does sudo's policy still let `user` run commands as root? Asked of sudo itself (`sudo -l -U`, as
 * root: no password involved) for the shell the controller's become runs, at every attach.
 */
export function sudoStillAllows(user: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      "sudo",
      ["-n", "-l", "-U", user, "-u", "root", "--", "sh"],
      { env: { PATH: SAFE_PATH, LC_ALL: "C" }, timeout: SUDO_CHECK_TIMEOUT_MS, windowsHide: true },
      (err) => resolve(!err),
    );
  });
}

/** The header the boot code left for this process (once; the secret is not kept there). */
export function takeResidentHeader(): ResidentHeader | undefined {
  const g = globalThis as { __postfleetResident?: ResidentHeader };
  const h = g.__postfleetResident;
  delete g.__postfleetResident;
  return h;
}

function sameSecret(given: unknown, secret: string): boolean {
  if (typeof given !== "string" || !/^[0-9a-f]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(given, "hex"), Buffer.from(secret, "hex"));
}

/** Call `then` once the agent that started this one is gone (its pipe ended; at once when it is already). */
function whenStarterGone(then: () => void): void {
  const parent = (globalThis as { __postfleetResidentParent?: { ended: boolean; onEnd: (() => void) | null } }).__postfleetResidentParent;
  if (!parent || parent.ended) return then();
  parent.onEnd = then;
}

/** Serve until idle, replaced or told to go; resolves with the exit code. */
export async function runResident(h: ResidentHeader): Promise<number> {
  process.title = "postfleet-agent (resident)";
  process.on("exit", releaseAllLocks);
  enablePostconfReadCache();
  const loops = new Set<ServeLoop>();
  let idleTimer: NodeJS.Timeout | undefined;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((r) => (finish = r));
  let server: Server | undefined;
  let ino = -1;

  let exiting = false;
  const quit = (code: number) => {
    exiting = true;
    for (const l of loops) l.stop("the resident agent is exiting");
    server?.close();
    // Our socket only: a newer resident agent may have taken the path.
    try {
      if (statSync(h.socketPath).ino === ino) unlinkSync(h.socketPath);
    } catch {
      /* gone already */
    }
    finish(code);
  };
  // Retiring (replaced, pruned or asked for another bundle): take no new caller, let the runs
  // that use it now finish, then go. Another controller's fresh agent taking the socket path
  // must not cut a run in the middle of its operation.
  let retiring = false;
  const retire = () => {
    if (!retiring) server?.close();
    retiring = true;
    if (loops.size === 0) quit(0);
  };
  // Idle time counts from the end of the run that started it (which may outlast the idle time itself).
  let starterGone = false;
  const armIdle = () => {
    clearTimeout(idleTimer);
    if (loops.size > 0) return;
    if (retiring) return quit(0);
    if (!starterGone) return;
    idleTimer = setTimeout(() => quit(0), h.idleMs);
  };

  // Only a served caller resets the idle timer: refused or silent connections never keep it alive.
  const onConnection = (sock: Socket) => {
    let buf = Buffer.alloc(0);
    const refuse = (message: string, then?: () => void) => {
      sock.end(JSON.stringify({ id: 0, op: "error", error: { code: "usage", message } }) + "\n", then);
    };
    const timer = setTimeout(() => {
      sock.off("data", onData);
      refuse("no attach line in time");
    }, ATTACH_TIMEOUT_MS);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const nl = buf.indexOf(10);
      if (nl < 0) {
        if (buf.length > ATTACH_MAX_BYTES) {
          clearTimeout(timer);
          sock.off("data", onData);
          refuse("attach line too long");
        }
        return;
      }
      clearTimeout(timer);
      sock.off("data", onData);
      sock.pause();
      let attach: Partial<AttachLine>;
      try {
        attach = JSON.parse(buf.subarray(0, nl).toString("utf8")) as Partial<AttachLine>;
      } catch {
        return refuse("the first line must be an attach line");
      }
      if (attach.op !== "attach" || !sameSecret(attach.secret, h.secret)) return refuse("not authorized");
      if (attach.stop === true) return void sock.end(JSON.stringify({ id: 0, op: "shutdown" }) + "\n", () => quit(0));
      if (attach.sha256 !== h.sha256) return refuse(`stale: this resident agent runs bundle ${h.sha256}`, retire);
      if (retiring) return refuse("this resident agent is retiring");
      if (!h.sudoUser) return serve(sock, buf.subarray(nl + 1), attach.idleMs);
      // Root through sudo: the right is the login user's, judged by sudo now, not when this agent started.
      void sudoStillAllows(h.sudoUser).then((ok) => {
        if (ok) return serve(sock, buf.subarray(nl + 1), attach.idleMs);
        refuse(`not authorized: sudo no longer lets ${h.sudoUser} run commands as root`, () => quit(0));
      });
    };
    sock.on("data", onData);
    sock.on("error", () => sock.destroy());
  };

  const serve = (sock: Socket, rest: Buffer, idleMs: number | undefined) => {
    if (sock.destroyed || retiring || exiting) return void sock.destroy();
    clearTimeout(idleTimer);
    if (Number.isInteger(idleMs) && idleMs! > 0) h.idleMs = Math.min(idleMs!, MAX_RESIDENT_IDLE_MS);
    if (rest.length) sock.unshift(rest);
    const loop = createServeLoop({ handlers: agentHandlers, input: sock, output: sock, env: processEnv(), lockTimeoutMs: h.lockTimeoutMs, resident: true });
    loops.add(loop);
    sock.resume();
    void loop.done.then(() => {
      loops.delete(loop);
      sock.end();
      armIdle();
    });
  };

  // Bind a private name with a umask that makes the socket 0600 from its first instant, then rename it
  // into place: an older resident agent's socket is replaced atomically, and closing this server later
  // unlinks only that private name (Node.js unlinks a Unix server's path on close), never a newer agent's socket.
  const bound = `${h.socketPath}.${process.pid}`;
  const oldMask = process.umask(0o177);
  server = createServer(onConnection);
  const listening = await new Promise<boolean>((resolve) => {
    server!.once("error", () => resolve(false));
    server!.listen(bound, () => resolve(true));
  });
  process.umask(oldMask);
  if (!listening) return 1;
  try {
    if ((process.geteuid?.() ?? h.ownerUid) !== h.ownerUid) chownSync(bound, h.ownerUid, h.ownerGid);
    renameSync(bound, h.socketPath);
    ino = statSync(h.socketPath).ino;
  } catch {
    server.close();
    return 1;
  }
  h.idleMs = Math.min(h.idleMs, MAX_RESIDENT_IDLE_MS);
  whenStarterGone(() => {
    starterGone = true;
    armIdle();
  });
  // However often it is used, it does not live for ever: after its lifetime it takes no new caller.
  const life = setTimeout(retire, MAX_RESIDENT_LIFE_MS);
  life.unref();

  // Replaced (a newer resident agent took the path) or pruned (the bundle file is gone): go.
  const watch = setInterval(() => {
    let ours = false;
    try {
      ours = statSync(h.socketPath).ino === ino;
    } catch {
      ours = false;
    }
    if (!ours || !existsSync(h.file)) retire();
  }, WATCH_INTERVAL_MS);
  watch.unref();
  for (const sig of ["SIGTERM", "SIGHUP", "SIGINT"] as const) process.on(sig, () => quit(0));
  const code = await finished;
  clearInterval(watch);
  return code;
}
