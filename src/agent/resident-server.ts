// The resident agent: started detached by an agent whose run asked to persist
// (resident-handover.ts), it serves protocol 2 on a Unix socket (mode 0600,
// owned by the login user, so sshd can forward a connection to it for that
// user and nobody else; a root agent's in /run/postfleet, which that user
// cannot change), one serve loop per connection. A caller's first line must present the secret of the
// controller that asked for it; otherwise it is answered with an error and
// dropped. It exits after `idleMs` without a connection; when its socket or
// bundle file is replaced or removed, or a caller expects another bundle, it
// takes no new caller and exits once the runs using it end; it exits at once
// when asked (`postfleet agent stop`) and on SIGTERM/SIGHUP/SIGINT. It grants nothing its user did not have:
// root only to a caller that holds the secret.
import { timingSafeEqual } from "node:crypto";
import { chownSync, existsSync, renameSync, statSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import type { AttachLine } from "../protocol/index.js";
import { releaseAllLocks } from "./lock.js";
import { enablePostconfReadCache } from "./postconf-cache.js";
import type { ResidentHeader } from "./resident-handover.js";
import { agentHandlers } from "./serve.js";
import { createServeLoop, type ServeLoop } from "./serve-loop.js";
import { processEnv } from "./system.js";

const ATTACH_TIMEOUT_MS = 5000;
const ATTACH_MAX_BYTES = 4096;
const WATCH_INTERVAL_MS = 2000;

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

  const quit = (code: number) => {
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
  const armIdle = () => {
    clearTimeout(idleTimer);
    if (loops.size > 0) return;
    if (retiring) return quit(0);
    idleTimer = setTimeout(() => quit(0), h.idleMs);
  };

  const onConnection = (sock: Socket) => {
    clearTimeout(idleTimer);
    let buf = Buffer.alloc(0);
    const refuse = (message: string, then?: () => void) => {
      sock.end(JSON.stringify({ id: 0, op: "error", error: { code: "usage", message } }) + "\n", then);
      armIdle();
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
      if (Number.isInteger(attach.idleMs) && attach.idleMs! > 0 && attach.idleMs! <= 86_400_000) h.idleMs = attach.idleMs!;
      const rest = buf.subarray(nl + 1);
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
    sock.on("data", onData);
    sock.on("error", () => sock.destroy());
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
  armIdle();

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
