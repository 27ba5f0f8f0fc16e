// Following a probe message through Postfix's own log: pure logic, fed one
// log line at a time. A hop is one instance's queue file of the probe (found
// by the probe's Message-ID on its cleanup line, or by the queue ID a previous
// hop's "queued as" or the injection's 250 reply named); its delivery line
// (to=..., relay=..., delay=..., status=...) says where it went and how long
// it stayed. The tracker decides when the probe reached its outcome or where
// it stopped.
import type { ProbeHop, ProbeOutcome } from "../../protocol/index.js";

export interface LogLine {
  /** syslog_name as logged: "postfix-in" of "postfix-in/smtp[123]". */
  syslogName: string;
  /** The daemon: "smtp", "cleanup", "qmgr", ... */
  daemon: string;
  queueId: string | null;
  /** What follows "QUEUEID: " (or the whole message without a queue ID). */
  text: string;
  raw: string;
}

// "... postfix-in/smtp[123]: 397C91865D6: to=<...>" (syslog and maillog_file formats, RFC 3339 or not).
const LINE = /(?:^|\s)([^\s[\]]+)\/([^\s/[\]]+)\[\d+\]: (.*)$/;
// Short queue IDs are upper-case hex, long ones (enable_long_queue_ids) base-52ish.
const QUEUE_ID = /^([0-9A-F]{6,}|[0-9A-Za-z]{10,}):\s(.*)$/;

export function parseLogLine(raw: string): LogLine | null {
  const m = LINE.exec(raw);
  if (!m) return null;
  // syslog_name may itself hold a slash ("postfix/submission/smtpd"): the daemon is the last part.
  const ident = `${m[1]}/${m[2]}`;
  const cut = ident.lastIndexOf("/");
  const q = QUEUE_ID.exec(m[3]!);
  return { syslogName: ident.slice(0, cut), daemon: ident.slice(cut + 1), queueId: q ? q[1]! : null, text: q ? q[2]! : m[3]!, raw };
}

export interface Delivery {
  relay: string;
  delayMs: number | null;
  status: string;
  /** The text in parentheses after status=. */
  reply: string;
}

/** "to=<a>, relay=R, delay=0.7, delays=..., dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X)" */
export function parseDelivery(text: string): Delivery | null {
  if (!text.startsWith("to=<")) return null;
  const status = /, status=(\w+)(?: \((.*)\))?$/.exec(text);
  if (!status) return null;
  const relay = /, relay=([^,\s]+)/.exec(text)?.[1] ?? "none";
  const delay = /, delay=([\d.]+)/.exec(text)?.[1];
  return { relay, delayMs: delay === undefined ? null : Math.round(Number(delay) * 1000), status: status[1]!, reply: status[2] ?? "" };
}

/** "127.0.0.1[127.0.0.1]:10025" → { host: "127.0.0.1", port: 10025 }; "local", "none" → null. */
export function relayAddress(relay: string): { host: string; port: number } | null {
  const m = /\[([^\]]+)\](?::(\d+))?$/.exec(relay);
  if (!m) return null;
  return { host: m[1]!, port: m[2] ? Number(m[2]) : 25 };
}

export const queuedAs = (reply: string): string | null => /queued as ([0-9A-Za-z]+)/.exec(reply)?.[1] ?? null;

export interface TrackerOptions {
  messageId: string;
  outcome: ProbeOutcome;
  /** Does a relay address belong to a local Postfix instance's SMTP listener (then the next hop follows)? */
  isLocalListener(host: string, port: number): boolean;
  /** A local address that is no Postfix listener (a content filter such as amavisd re-injecting into Postfix). */
  isLocalAddress?(host: string): boolean;
  /** syslog_name → multi_instance_name, where known. */
  instanceOf(syslogName: string): string | null;
  /** The first hop's queue ID when the injection reply said it. */
  firstQueueId?: { syslogName: string; queueId: string };
  /**
   * sendmail -bv ignores the message (cleanup makes its own Message-ID): the
   * first hop is then the entry instance's first pickup line from this sender.
   */
  pickupFrom?: { syslogName: string; sender: string };
}

export type TrackerState = { done: false } | { done: true; ok: true } | { done: true; ok: false; hop: string; reason: string; line: string };

/** Follows one probe; feed it log lines in order, ask `state`. */
export class ProbeTracker {
  readonly hops: ProbeHop[] = [];
  /** Queue files still holding the probe (or a notice about it): "syslogName queueId". */
  private readonly queued = new Set<string>();
  /** Delivery status notifications the probe caused (they are removed too). */
  readonly notices: { syslogName: string; queueId: string }[] = [];
  private result: TrackerState = { done: false };
  /** Delivered to a local non-Postfix server that said "queued as": done unless a next hop shows up in time. */
  private pending: { at: number } | null = null;

  constructor(private readonly o: TrackerOptions) {
    if (o.firstQueueId) this.addHop(o.firstQueueId.syslogName, o.firstQueueId.queueId, "", 0);
  }

  get state(): TrackerState {
    return this.result;
  }

  /** Queue IDs (per syslog_name) that have not logged "removed". */
  leftInQueue(): { syslogName: string; queueId: string }[] {
    return [...this.queued].map((k) => {
      const [syslogName = "", queueId = ""] = k.split(" ");
      return { syslogName, queueId };
    });
  }

  private hop(syslogName: string, queueId: string): ProbeHop | undefined {
    return this.hops.find((h) => h.syslogName === syslogName && h.queueId === queueId);
  }

  private addHop(syslogName: string, queueId: string, line: string, at: number): ProbeHop {
    this.pending = null;
    const h: ProbeHop = { syslogName, instance: this.o.instanceOf(syslogName), queueId, relay: null, status: null, latencyMs: null, seenAfterMs: at, line };
    this.hops.push(h);
    this.queued.add(`${syslogName} ${queueId}`);
    return h;
  }

  private fail(h: ProbeHop | { syslogName: string }, reason: string, line: string): void {
    if (!this.result.done) this.result = { done: true, ok: false, hop: h.syslogName, reason, line };
  }

  /** One log line, seen `at` ms after the injection. */
  feed(raw: string, at: number): void {
    const l = parseLogLine(raw);
    if (!l || !l.queueId) return;
    const key = `${l.syslogName} ${l.queueId}`;
    const pf = this.o.pickupFrom;
    if (pf && this.hops.length === 0 && l.daemon === "pickup" && l.syslogName === pf.syslogName && l.text.startsWith("uid=") && l.text.endsWith(` from=<${pf.sender}>`)) {
      this.addHop(l.syslogName, l.queueId, raw, at);
      return;
    }
    if (l.daemon === "cleanup" && l.text === `message-id=${this.o.messageId}`) {
      if (!this.hop(l.syslogName, l.queueId) && !this.notices.some((n) => `${n.syslogName} ${n.queueId}` === key)) this.addHop(l.syslogName, l.queueId, raw, at);
      return;
    }
    if (l.text === "removed") {
      this.queued.delete(key);
      return;
    }
    const h = this.hop(l.syslogName, l.queueId);
    if (!h) return;
    h.seenAfterMs = at;
    const notice = /^sender (?:non-delivery|delivery status|delay) notification: ([0-9A-Za-z]+)$/.exec(l.text);
    if (notice) {
      this.notices.push({ syslogName: l.syslogName, queueId: notice[1]! });
      this.queued.add(`${l.syslogName} ${notice[1]!}`);
      return;
    }
    const d = parseDelivery(l.text);
    if (!d) {
      // reject/warning/milter lines of a hop say why when it fails later.
      if (/^(reject|milter-reject|discard|hold):/.test(l.text)) this.fail(h, l.text, raw);
      return;
    }
    h.relay = d.relay;
    h.status = d.status;
    h.latencyMs = d.delayMs;
    h.line = raw;
    if (this.o.outcome === "verify") {
      if (d.status === "deliverable") this.result = { done: true, ok: true };
      else this.fail(h, `${d.status}: ${d.reply}`, raw);
      return;
    }
    if (d.status !== "sent") {
      this.fail(h, d.reply ? `${d.status}: ${d.reply}` : d.status, raw);
      return;
    }
    if (this.o.outcome === "accepted" && this.hops[0] === h) {
      if (!this.result.done) this.result = { done: true, ok: true };
      return;
    }
    const addr = relayAddress(d.relay);
    const next = queuedAs(d.reply);
    if (addr && next && this.o.isLocalListener(addr.host, addr.port)) return; // the next hop's cleanup line follows
    if (addr && next && this.o.isLocalAddress?.(addr.host)) {
      this.pending = { at };
      return;
    }
    if (!this.result.done) this.result = { done: true, ok: true };
  }

  /** At `at` ms: a delivery to a local non-Postfix server that no next hop followed within graceMs is the last hop. */
  settle(at: number, graceMs: number): void {
    if (this.pending && !this.result.done && at - this.pending.at >= graceMs) this.result = { done: true, ok: true };
  }

  /** The hop where the probe is now (the last one seen), for a timeout's report. */
  lastHop(): ProbeHop | undefined {
    return this.hops[this.hops.length - 1];
  }
}
