// One attempt of each health check kind on one instance. Every result says
// what was seen, in the operator's words ("pid 1234", "queue 3 > 0", ...).
import { readdirSync, readFileSync } from "node:fs";
import type { HealthCheck, HealthCheckResult } from "../../protocol/index.js";
import { genericCommandEnv } from "../postmulti/environment.js";
import { commandName, parseMasterFields } from "../postfix/master-cf.js";
import type { RequestContext } from "../serve/request-context.js";
import { splitList } from "../postfix/postconf.js";
import { postconfRun, type RequestInstance } from "./request-instance.js";
import { spawnCommand } from "../system/spawn-command.js";
import { listenEndpoints, probeSmtp, readServices, resolveService, targetText, type ListenEndpoint, type ProbeTarget } from "./smtp-banner.js";
import { masterPid, queueCounts } from "../postfix/state.js";

/** Programs that greet SMTP clients on an inet listener. */
const SMTP_SERVERS = new Set(["smtpd", "postscreen"]);

export interface CheckBudget {
  /** How long one probe or command may take now. */
  timeoutMs: number | undefined;
}

/** pids of the live children of `parent` whose command name is `comm`, from /proc/PID/stat. */
export function childrenNamed(parent: number, comm: string, proc = "/proc"): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync(proc);
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let stat: string;
    try {
      stat = readFileSync(`${proc}/${e}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const close = stat.lastIndexOf(")");
    const name = stat.slice(stat.indexOf("(") + 1, close);
    const [state, ppid] = stat.slice(close + 2).split(" ");
    if (name === comm && Number(ppid) === parent && state !== "Z" && state !== "X") out.push(Number(e));
  }
  return out;
}

export interface TcpConnection {
  /** Dotted IPv4, or IPv6 as 8 groups of 4 hex digits (IPv4-mapped ones as IPv4). */
  host: string;
  port: number;
  /** /proc/net/tcp state: "01" established, "08" close-wait, "0A" listen, ... */
  state: string;
}

function hexIPv4(h: string): string {
  return [6, 4, 2, 0].map((i) => parseInt(h.slice(i, i + 2), 16)).join(".");
}

function hexIPv6(h: string): string {
  // Four 32-bit words, each in host (little-endian) byte order.
  const bytes: string[] = [];
  for (let w = 0; w < 4; w++) for (const i of [6, 4, 2, 0]) bytes.push(h.slice(w * 8 + i, w * 8 + i + 2));
  const groups = [0, 2, 4, 6, 8, 10, 12, 14].map((i) => (bytes[i]! + bytes[i + 1]!).toLowerCase());
  if (groups.slice(0, 5).every((g) => g === "0000") && groups[5] === "ffff") return hexIPv4(bytes.slice(12, 16).reverse().join(""));
  return groups.join(":");
}

/** An address as TcpConnection.host spells it ("::1" → "0000:...:0001"); names stay as they are. */
export function canonicalHost(host: string): string {
  if (!host.includes(":")) return host;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (v4) return v4[1]!;
  const [head = "", tail] = host.split("::");
  const a = head ? head.split(":") : [];
  const b = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const fill = tail !== undefined ? Array(8 - a.length - b.length).fill("0") : [];
  return [...a, ...fill, ...b].map((g) => g.toLowerCase().padStart(4, "0")).join(":");
}

/** Local ends of the TCP sockets in /proc/net/tcp and tcp6. */
export function tcpConnections(proc = "/proc"): TcpConnection[] {
  const out: TcpConnection[] = [];
  for (const f of ["tcp", "tcp6"]) {
    let text: string;
    try {
      text = readFileSync(`${proc}/net/${f}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      const m = /^([0-9A-Fa-f]+):([0-9A-Fa-f]{4})$/.exec(cols[1] ?? "");
      if (!m || !cols[3]) continue;
      out.push({ host: m[1]!.length === 8 ? hexIPv4(m[1]!) : hexIPv6(m[1]!), port: parseInt(m[2]!, 16), state: cols[3] });
    }
  }
  return out;
}

/** Client connections (established or closing) accepted on one of `endpoints`. */
export function sessionsOn(endpoints: ListenEndpoint[], connections: TcpConnection[]): number {
  const want = endpoints.map((e) => ({ host: e.host === null ? null : canonicalHost(e.host), port: e.port }));
  return connections.filter((c) => (c.state === "01" || c.state === "08") && want.some((e) => e.port === c.port && (e.host === null || e.host === c.host))).length;
}

/** master_service_disable: "inet" or "smtp/inet" turns a listener off (postmulti -e create sets "inet"). */
export function serviceDisabled(masterServiceDisable: string, service: string, type: string): boolean {
  return splitList(masterServiceDisable).some((item) => item === type || item === `${service}/${type}`);
}

/** The instance's inet smtpd/postscreen services (master.cf names) that master_service_disable leaves on. */
export async function smtpServices(ctx: RequestContext, ri: RequestInstance): Promise<{ names: string[]; inetInterfaces: string }> {
  const fields = parseMasterFields((await postconfRun(ctx, ri, ["-F"])).stdout);
  const [inetInterfaces = "", disabled = ""] = (await postconfRun(ctx, ri, ["-xh", "inet_interfaces", "master_service_disable"])).stdout.split("\n");
  const names: string[] = [];
  for (const f of fields.values())
    if (f.type === "inet" && SMTP_SERVERS.has(commandName(f.command)) && !serviceDisabled(disabled, f.service, f.type)) names.push(f.service);
  return { names, inetInterfaces };
}

/** The addresses to probe for the instance's SMTP listeners. */
export async function smtpListeners(ctx: RequestContext, ri: RequestInstance): Promise<{ targets: ProbeTarget[]; problems: string[] }> {
  const { names, inetInterfaces } = await smtpServices(ctx, ri);
  const services = readServices();
  const targets: ProbeTarget[] = [];
  const problems: string[] = [];
  for (const name of names) {
    try {
      for (const t of resolveService(name, inetInterfaces, services))
        if (!targets.some((o) => o.host === t.host && o.port === t.port)) targets.push(t);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return { targets, problems };
}

async function checkSmtp(ctx: RequestContext, ri: RequestInstance, c: { address?: string; port?: number }, budget: CheckBudget): Promise<HealthCheckResult> {
  let targets: ProbeTarget[];
  const problems: string[] = [];
  if (c.address !== undefined || c.port !== undefined) {
    targets = [{ host: c.address ?? "127.0.0.1", port: c.port ?? 25 }];
  } else {
    const found = await smtpListeners(ctx, ri);
    targets = found.targets;
    problems.push(...found.problems);
    if (targets.length === 0 && problems.length === 0) return { kind: "smtp", ok: true, detail: "no inet listener" };
  }
  const probeMs = Math.min(10_000, Math.max(1000, budget.timeoutMs ?? 5000));
  const results = await Promise.all(targets.map((t) => probeSmtp(t, probeMs, ctx.signal)));
  const failed = results.filter((r) => !r.ok);
  const ok = failed.length === 0 && problems.length === 0;
  const shown = ok ? results : failed;
  return { kind: "smtp", ok, detail: [...problems, ...shown.map((r) => r.detail)].join("; ") || `no listener at ${targets.map(targetText).join(", ")}` };
}

async function checkMaster(ri: RequestInstance): Promise<HealthCheckResult> {
  const pid = await masterPid(ri.instance.queueDir);
  return pid !== null
    ? { kind: "master", ok: true, detail: `master pid ${pid}` }
    : { kind: "master", ok: false, detail: `master not running (no live master process in ${ri.instance.queueDir}/pid/master.pid)` };
}

async function checkQueue(ri: RequestInstance, max: number): Promise<HealthCheckResult> {
  const counted = queueCounts(ri.instance.queueDir);
  if (!counted.counts) return { kind: "queue", ok: false, detail: `queue size unknown: ${counted.error}` };
  const q = counted.counts;
  const n = q.active + q.incoming + q.deferred;
  const ok = n <= max;
  return { kind: "queue", ok, detail: `queue ${n} ${ok ? "≤" : ">"} ${max} (active ${q.active}, incoming ${q.incoming}, deferred ${q.deferred})` };
}

async function checkSessions(ctx: RequestContext, ri: RequestInstance, max: number): Promise<HealthCheckResult> {
  const pid = await masterPid(ri.instance.queueDir);
  if (pid === null) return { kind: "sessions", ok: 0 <= max, detail: "0 SMTP sessions (master not running)" };
  // A session is a client connection on one of the instance's SMTP listeners: smtpd processes
  // linger idle (max_idle) after their client left, and their descriptors are not readable
  // without CAP_SYS_PTRACE, so the socket table says it.
  const { names, inetInterfaces } = await smtpServices(ctx, ri);
  const services = readServices();
  const endpoints = names.flatMap((n) => {
    try {
      return listenEndpoints(n, inetInterfaces, services);
    } catch {
      return [];
    }
  });
  const n = sessionsOn(endpoints, tcpConnections());
  const procs = childrenNamed(pid, "smtpd").length;
  const ok = n <= max;
  const where = endpoints.map((e) => (e.host === null ? `*:${e.port}` : e.host.includes(":") ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`)).join(", ") || "no inet listener";
  return {
    kind: "sessions",
    ok,
    detail: `${n} SMTP session${n === 1 ? "" : "s"} ${ok ? "≤" : ">"} ${max} (on ${where}; master pid ${pid} has ${procs} smtpd process${procs === 1 ? "" : "es"})`,
  };
}

const lastLine = (s: string) => s.trim().split("\n").pop()?.trim() ?? "";

async function checkCommand(ctx: RequestContext, ri: RequestInstance, c: { argv: string[]; shell?: boolean }, budget: CheckBudget): Promise<HealthCheckResult> {
  if (!Array.isArray(c.argv) || c.argv.length === 0 || !c.argv.every((a) => typeof a === "string"))
    return { kind: "command", ok: false, detail: "command check needs argv: a non-empty list of strings" };
  const argv = c.shell ? ["/bin/sh", "-c", ...c.argv] : c.argv;
  const env = genericCommandEnv(ri.base, ri.primary, ri.instance);
  const r = await spawnCommand(argv, { env, capture: true, signal: ctx.signal, timeoutMs: budget.timeoutMs });
  if (r.spawnError) return { kind: "command", ok: false, detail: `cannot run ${argv[0]}: ${r.spawnError.code === "ENOENT" ? "No such file or directory" : r.spawnError.message}` };
  if (r.timedOut) return { kind: "command", ok: false, detail: `${argv[0]} timed out after ${budget.timeoutMs} ms` };
  if (r.cancelled) return { kind: "command", ok: false, detail: `${argv[0]} cancelled` };
  const said = lastLine(r.stderr) || lastLine(r.stdout);
  return { kind: "command", ok: r.exitCode === 0, detail: `exit ${r.exitCode}${said ? `: ${said}` : ""}` };
}

export async function runCheck(ctx: RequestContext, ri: RequestInstance, c: HealthCheck, budget: CheckBudget): Promise<HealthCheckResult> {
  try {
    switch (c.kind) {
      case "master":
        return await checkMaster(ri);
      case "smtp":
        return await checkSmtp(ctx, ri, c, budget);
      case "queue":
        return await checkQueue(ri, c.max);
      case "sessions":
        return await checkSessions(ctx, ri, c.max);
      case "command":
        return await checkCommand(ctx, ri, c, budget);
    }
  } catch (e) {
    return { kind: c.kind, ok: false, detail: (e as Error).message };
  }
}

/** A check whose shape is wrong (reported as a usage error before any attempt). */
export function invalidCheck(c: unknown): string | null {
  const k = (c as { kind?: unknown } | null)?.kind;
  if (k === "master") return null;
  if (k === "smtp") {
    const s = c as { address?: unknown; port?: unknown };
    if (s.address !== undefined && typeof s.address !== "string") return "smtp check: address must be a string";
    if (s.port !== undefined && (typeof s.port !== "number" || !Number.isInteger(s.port) || s.port <= 0 || s.port > 65535)) return "smtp check: port must be 1..65535";
    return null;
  }
  if (k === "queue" || k === "sessions") {
    const m = (c as { max?: unknown }).max;
    return typeof m === "number" && m >= 0 ? null : `${k} check needs max: a number ≥ 0`;
  }
  if (k === "command") {
    const a = (c as { argv?: unknown }).argv;
    return Array.isArray(a) && a.length > 0 && a.every((x) => typeof x === "string") ? null : "command check needs argv: a non-empty list of strings";
  }
  return `unknown health check kind: ${JSON.stringify(k)}`;
}
