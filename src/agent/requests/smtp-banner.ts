// The smtp health probe: where an instance's SMTP listeners are (master.cf
// service names resolved against /etc/services and inet_interfaces), and a
// banner check on each (connect, read the 220 greeting, QUIT).
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { splitList } from "../postfix/postconf.js";

export interface ProbeTarget {
  host: string;
  port: number;
}

/** "127.0.0.1:25", "[::1]:25" */
export const targetText = (t: ProbeTarget) => (t.host.includes(":") ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`);

/** TCP service names of an /etc/services text (aliases included). */
export function parseServices(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) continue;
    const [name, portProto, ...aliases] = line.split(/\s+/);
    const m = /^(\d+)\/tcp$/.exec(portProto ?? "");
    if (!name || !m) continue;
    for (const n of [name, ...aliases]) if (!out.has(n)) out.set(n, Number(m[1]));
  }
  return out;
}

export function readServices(path = "/etc/services"): Map<string, number> {
  try {
    return parseServices(readFileSync(path, "utf8"));
  } catch {
    return new Map([["smtp", 25], ["submission", 587], ["submissions", 465], ["smtps", 465]]);
  }
}

const WILDCARDS = new Set(["", "*", "0.0.0.0", "::", "[::]", "all"]);
/** Where a wildcard listener is probed. */
export const WILDCARD_PROBE_HOST = "127.0.0.1";

const unbracket = (h: string) => (h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h);

/** The hosts an inet listener without an explicit host listens on: inet_interfaces, wildcards on loopback. */
export function interfaceHosts(inetInterfaces: string): string[] {
  const hosts: string[] = [];
  for (const item of splitList(inetInterfaces)) {
    const v = item.toLowerCase();
    const host = WILDCARDS.has(v) || v === "loopback-only" ? WILDCARD_PROBE_HOST : unbracket(item);
    if (!hosts.includes(host)) hosts.push(host);
  }
  return hosts.length ? hosts : [WILDCARD_PROBE_HOST];
}

/** Where a listener accepts connections: host null means any local address. */
export interface ListenEndpoint {
  host: string | null;
  port: number;
}

/** The local addresses a listener binds, from its service name and inet_interfaces (null: any address). */
export function listenEndpoints(service: string, inetInterfaces: string, services: Map<string, number>): ListenEndpoint[] {
  const { host, port } = splitService(service, services);
  if (host !== null) return [{ host: WILDCARDS.has(host) ? null : unbracket(host), port }];
  const out: ListenEndpoint[] = [];
  const add = (h: string | null) => {
    if (!out.some((e) => e.host === h)) out.push({ host: h, port });
  };
  for (const item of splitList(inetInterfaces)) {
    const v = item.toLowerCase();
    if (WILDCARDS.has(v)) add(null);
    else if (v === "loopback-only") {
      add("127.0.0.1");
      add("::1");
    } else add(unbracket(item));
  }
  if (out.length === 0) add(null);
  return out.some((e) => e.host === null) ? [{ host: null, port }] : out;
}

function splitService(service: string, services: Map<string, number>): { host: string | null; port: number } {
  let host: string | null = null;
  let portText = service;
  const bracket = /^\[([^\]]*)\]:(.+)$/.exec(service);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2]!;
  } else {
    const colon = service.lastIndexOf(":");
    if (colon >= 0) {
      host = service.slice(0, colon);
      portText = service.slice(colon + 1);
    }
  }
  const port = /^\d+$/.test(portText) ? Number(portText) : services.get(portText);
  if (port === undefined || port <= 0 || port > 65535) throw new Error(`unknown port '${portText}' in service ${service}`);
  return { host, port };
}

/**
 * A master.cf inet service name ("smtp", "2525", "127.0.0.1:10025",
 * "[::1]:25", "*:smtp") as the addresses to probe. Throws for a port name
 * /etc/services does not know.
 */
export function resolveService(service: string, inetInterfaces: string, services: Map<string, number>): ProbeTarget[] {
  const { host, port } = splitService(service, services);
  const hosts = host === null ? interfaceHosts(inetInterfaces) : WILDCARDS.has(host) ? [WILDCARD_PROBE_HOST] : [unbracket(host)];
  return hosts.map((h) => ({ host: h, port }));
}

/** What a greeting looks like so far: complete once a final "NNN text" line arrived. */
export interface Greeting {
  complete: boolean;
  code: string | null;
  lines: string[];
}

/** Reply lines of a (partial) SMTP greeting: "220-first", ..., "220 last". */
export function parseGreeting(text: string): Greeting {
  const parts = text.split("\n");
  const lines = parts.slice(0, -1).map((l) => l.replace(/\r$/, ""));
  let complete = false;
  let code: string | null = null;
  for (const l of lines) {
    const m = /^(\d{3})([ -]|$)/.exec(l);
    if (!m) {
      // Not SMTP: take it as the whole answer.
      complete = true;
      code = code ?? "";
      break;
    }
    code = code ?? m[1]!;
    if (m[2] !== "-") {
      complete = true;
      break;
    }
  }
  return { complete, code, lines };
}

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** Connect, read the greeting, send QUIT. ok when the greeting's code is 220. */
export function probeSmtp(target: ProbeTarget, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const where = targetText(target);
  return new Promise((resolve) => {
    let text = "";
    let done = false;
    const socket = connect({ host: target.host, port: target.port });
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(r);
    };
    const banner = (g: Greeting) => {
      const last = g.lines[g.lines.length - 1] ?? "";
      return g.lines.length > 1 ? `${last} (${g.lines.length}-line greeting)` : last;
    };
    const onGreeting = (g: Greeting) => {
      if (done) return;
      const ok = g.code === "220";
      if (ok) socket.end("QUIT\r\n");
      else socket.destroy();
      finish({ ok, detail: ok ? `${banner(g)} at ${where}` : `${where} answered ${JSON.stringify(banner(g))}, not 220` });
    };
    const timer = setTimeout(() => {
      const g = parseGreeting(text + "\n");
      if (g.code === "220") {
        // A 220- greeting that does not finish in time (postscreen's greet pause): the server is up.
        socket.destroy();
        finish({ ok: true, detail: `${g.lines[0]} at ${where} (greeting not finished within ${timeoutMs} ms)` });
      } else {
        socket.destroy();
        finish({ ok: false, detail: `${where}: no greeting within ${timeoutMs} ms` });
      }
    }, timeoutMs);
    const onAbort = () => {
      socket.destroy();
      finish({ ok: false, detail: `${where}: probe cancelled` });
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => {
      text += d;
      const g = parseGreeting(text);
      if (g.complete) onGreeting(g);
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      socket.destroy();
      const why = e.code === "ECONNREFUSED" ? "connection refused" : e.code === "EHOSTUNREACH" ? "host unreachable" : e.message;
      finish({ ok: false, detail: `${where}: ${why}` });
    });
    socket.on("close", () => {
      if (done) return;
      const g = parseGreeting(text.endsWith("\n") ? text : text + "\n");
      if (g.lines.length && g.code) onGreeting({ ...g, complete: true });
      else finish({ ok: false, detail: `${where}: connection closed before a greeting` });
    });
  });
}
