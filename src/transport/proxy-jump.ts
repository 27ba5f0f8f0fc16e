// ProxyJump values (ssh_config) and `ssh -J` hosts read as OpenSSH 9.2 reads
// them (readconf.c parse_jump, misc.c parse_ssh_uri / parse_user_host_port),
// so that a chain means the same hosts to postfleet as to ssh, and what ssh
// refuses is refused. Checked against `ssh -G` in
// test/unit/transport/proxy-jump.test.ts.
import { readFileSync } from "node:fs";

export interface JumpHost {
  host: string;
  user?: string;
  port?: number;
}

/** C's isspace() in the "C" locale. */
const SPACE = /[ \t\n\v\f\r]/;

let services: Map<string, number> | undefined;

/** getservbyname(name, "tcp") from /etc/services (Debian's nsswitch reads it for services). */
function tcpService(name: string): number | undefined {
  if (!services) {
    services = new Map();
    let text = "";
    try {
      text = readFileSync("/etc/services", "utf8");
    } catch {
      // no services file: names are not ports
    }
    for (const line of text.split("\n")) {
      const [entry] = line.split("#");
      const fields = entry!.trim().split(/\s+/);
      const m = /^(\d+)\/tcp$/.exec(fields[1] ?? "");
      if (!m) continue;
      for (const n of [fields[0]!, ...fields.slice(2)]) if (!services.has(n)) services.set(n, Number(m[1]));
    }
  }
  return services.get(name);
}

/** OpenSSH's a2port(): 0-65535 (strtonum), else a TCP service name; -1 when neither. */
function a2port(s: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)$/.exec(s);
  if (m) {
    const n = Number(m[1]);
    return n >= 0 && n <= 65535 ? Math.abs(n) : -1;
  }
  return tcpService(s) ?? -1;
}

/** hpdelim2(): the host part (with its brackets) and what follows the ':' or '/' after it; null when malformed. */
function hostAndRest(s: string): { host: string; delim: string; rest: string | undefined } | null {
  let end: number;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) return null;
    end = close + 1;
  } else {
    const i = s.search(/[:/]/);
    end = i < 0 ? s.length : i;
  }
  if (end === s.length) return { host: s, delim: "", rest: undefined };
  const delim = s[end]!;
  if (delim !== ":" && delim !== "/") return null;
  return { host: s.slice(0, end), delim, rest: s.slice(end + 1) };
}

function cleanHostname(h: string): string {
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

/** urldecode(): '+' is a space, %XX a byte; null on a bad escape. */
function urlDecode(s: string): string | null {
  const bytes = Buffer.from(s, "utf8");
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x2b) out.push(0x20);
    else if (b === 0x25) {
      const hex = bytes.subarray(i + 1, i + 3).toString("latin1");
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) return null;
      out.push(parseInt(hex, 16));
      i += 2;
    } else out.push(b);
  }
  return Buffer.from(out).toString("utf8");
}

/** valid_domain(): letters, digits, '.', '-', '_', starting alphanumeric, no '..'; a final '.' is dropped. */
function validDomain(h: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(h) || h.includes("..")) return null;
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** parse_ssh_uri(): ssh://[user[;params]@]host[:port][/]; undefined when not a URI, null when a bad one. */
function parseSshUri(s: string): JumpHost | null | undefined {
  if (!s.startsWith("ssh://")) return undefined;
  let tmp = s.slice("ssh://".length);
  let user: string | undefined;
  const at = tmp.indexOf("@");
  if (at >= 0) {
    const info = tmp.slice(0, at).split(";")[0]!;
    if (info === "") return null;
    const decoded = urlDecode(info);
    if (decoded === null) return null;
    user = decoded;
    tmp = tmp.slice(at + 1);
  }
  const hp = hostAndRest(tmp);
  if (!hp || hp.host === "") return null;
  const host = validDomain(cleanHostname(hp.host));
  if (host === null) return null;
  let port = -1;
  let rest = hp.rest;
  if (rest !== undefined && rest !== "" && hp.delim === ":") {
    const slash = rest.indexOf("/");
    port = a2port(slash < 0 ? rest : rest.slice(0, slash));
    if (port <= 0) return null;
    rest = slash < 0 ? undefined : rest.slice(slash + 1);
  }
  // A path is not allowed (a lone trailing '/' is none).
  if (rest !== undefined && rest !== "") return null;
  return { host, ...(user !== undefined ? { user } : {}), ...(port > 0 ? { port } : {}) };
}

/** parse_user_host_port(): [user@]host[:port], user up to the last '@', host possibly [bracketed]. */
function parseUserHostPort(s: string): JumpHost | null {
  let tmp = s;
  let user: string | undefined;
  const at = tmp.lastIndexOf("@");
  if (at >= 0) {
    if (at === 0) return null;
    user = tmp.slice(0, at);
    tmp = tmp.slice(at + 1);
  }
  const hp = hostAndRest(tmp);
  if (!hp || hp.delim === "/" || hp.host === "") return null;
  let port = -1;
  if (hp.rest !== undefined && hp.rest !== "") {
    port = a2port(hp.rest);
    if (port <= 0) return null;
  }
  return { host: cleanHostname(hp.host), ...(user !== undefined ? { user } : {}), ...(port > 0 ? { port } : {}) };
}

/** One jump host as ssh reads it (an ssh:// URI, else [user@]host[:port]); null when ssh refuses it. */
export function parseJumpHost(s: string): JumpHost | null {
  const uri = parseSshUri(s);
  return uri === undefined ? parseUserHostPort(s) : uri;
}

/** A jump host as `ssh -G` prints it: IP-looking names in brackets, port only when given. */
export function formatJumpHost(j: JumpHost): string {
  const numeric = j.host.includes(":") || /^[0-9.]+$/.test(j.host);
  return `${j.user !== undefined ? `${j.user}@` : ""}${numeric ? `[${j.host}]` : j.host}${j.port !== undefined ? `:${j.port}` : ""}`;
}

/** `unusable`: ssh accepts the line but would use it badly (postfleet refuses it where it applies). */
export type ProxyJumpReading = { ok: true; spec: string; unusable?: string } | { ok: false; reason: string };

/**
 * A ProxyJump line's value (the raw rest of the line) as ssh reads it: "none",
 * or the chain as `ssh -G` prints it. Like ssh, the value is cut at '#' and at
 * its first inner white space (OpenSSH 9.2's rtrim() cuts there), every hop is
 * checked, only the last hop is normalized (user@host:port, IPv6 in brackets,
 * URIs decoded) and the earlier ones are kept as written, from the uncut value.
 */
export function readProxyJump(raw: string): ProxyJumpReading {
  const s = raw.replace(/^[ \t\r\n=]+/, "");
  if (s.toLowerCase() === "none") return { ok: true, spec: "none" };
  let cut = s.split("#")[0]!;
  const space = cut.slice(1).search(SPACE);
  if (space >= 0) cut = cut.slice(0, space + 1);
  const hops = cut.split(",");
  const parsed = hops.map(parseJumpHost);
  if (parsed.some((p) => p === null)) return { ok: false, reason: `invalid ProxyJump ${JSON.stringify(s)} (ssh refuses it too)` };
  const last = parsed[parsed.length - 1]!;
  if (last.host.toLowerCase() === "none" && last.user === undefined && last.port === undefined && hops.length === 1) {
    // ssh reads e.g. "none # comment" as a jump host named "none", not as no jump.
    const unusable = `ProxyJump ${JSON.stringify(s)} is read by ssh as a jump host named "none": write ProxyJump none alone on its line`;
    return { ok: true, spec: formatJumpHost(last), unusable };
  }
  const comma = s.lastIndexOf(",");
  const extra = comma > 0 ? `${s.slice(0, comma)},` : "";
  return { ok: true, spec: extra + formatJumpHost(last) };
}

/** Jump hosts in `ssh -J` / ProxyJump syntax, in connection order; throws a message naming the bad hop. */
export function parseJumpChain(spec: string): JumpHost[] {
  return spec.split(",").map((part) => {
    // ssh would go on with a hop holding white space, but it names no host.
    const j = SPACE.test(part) ? null : parseJumpHost(part);
    if (!j) throw new Error(`invalid ProxyJump entry ${JSON.stringify(part)} (expected [user@]host[:port] or ssh://[user@]host[:port])`);
    return j;
  });
}
