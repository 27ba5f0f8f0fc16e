// `probe` requests: one uniquely tagged message into an instance, followed by
// queue ID through the log Postfix writes (each instance's maillog_file, else
// /var/log/mail.log or /var/log/maillog) until the requested outcome, a
// failure at a hop, or the maximum latency. What is left of the probe in a
// queue is removed with that instance's postsuper -d.
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { networkInterfaces, hostname } from "node:os";
import {
  PROBE_MAX_LATENCY_MS,
  PROBE_RECIPIENT,
  PROBE_SENDER,
  type ProbeRequest,
  type ProbeResponse,
} from "../../protocol/index.js";
import { smtpListeners, smtpServices } from "./health-checks.js";
import type { Instance } from "../postmulti/instances.js";
import { loadInstanceTable } from "./load-instances.js";
import { ProbeTracker } from "./probe-log.js";
import { sendSmtp } from "./probe-send.js";
import type { RequestContext } from "../serve/request-context.js";
import { abortError, postconfRun, requestInstance, RequestError, toAgentError, unknownInstance, type RequestInstance } from "./request-instance.js";
import { spawnCommand } from "../system/spawn-command.js";
import { canonicalHost } from "./health-checks.js";
import { listenEndpoints, readServices, targetText, type ListenEndpoint } from "./smtp-banner.js";

/** Where Postfix logs when maillog_file is empty (syslog): Debian's, then Red Hat's file. */
export const SYSLOG_MAIL_FILES = ["/var/log/mail.log", "/var/log/maillog"];
const POLL_MS = 100;
/** After a hand-over to a local server that is no Postfix instance (amavisd): how long its re-injection may take to show. */
const FILTER_GRACE_MS = 5000;

interface InstanceLog {
  instance: Instance;
  syslogName: string;
  logFile: string | null;
  endpoints: ListenEndpoint[];
}

/** A log file read from its size at the start on: only lines written after the injection. */
class LogTail {
  private offset: number;
  private partial = "";
  constructor(readonly path: string) {
    this.offset = existsSync(path) ? statSync(path).size : 0;
  }
  lines(): string[] {
    let fd: number;
    try {
      fd = openSync(this.path, "r");
    } catch {
      return [];
    }
    try {
      const size = statSync(this.path).size;
      if (size < this.offset) this.offset = 0; // rotated or truncated
      const out: string[] = [];
      const buf = Buffer.alloc(64 * 1024);
      while (this.offset < size) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.partial += buf.subarray(0, n).toString("utf8");
      }
      const parts = this.partial.split("\n");
      this.partial = parts.pop() ?? "";
      out.push(...parts.filter(Boolean));
      return out;
    } finally {
      closeSync(fd);
    }
  }
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/** Every instance's syslog_name, log file and SMTP listener addresses. */
async function instanceLogs(ctx: RequestContext, ri: RequestInstance): Promise<InstanceLog[]> {
  const { instances } = await loadInstanceTable(ctx.env);
  const services = readServices();
  const out: InstanceLog[] = [];
  for (const instance of instances) {
    const r: RequestInstance = { ...ri, instance };
    const [syslogName = "postfix", maillogFile = ""] = (await postconfRun(ctx, r, ["-xh", "syslog_name", "maillog_file"])).stdout.split("\n");
    const logFile = maillogFile.trim() || SYSLOG_MAIL_FILES.find((f) => existsSync(f)) || null;
    let endpoints: ListenEndpoint[] = [];
    if (instance.enabled || instance.primary) {
      const { names, inetInterfaces } = await smtpServices(ctx, r);
      endpoints = names.flatMap((n) => {
        try {
          return listenEndpoints(n, inetInterfaces, services);
        } catch {
          return [];
        }
      });
    }
    out.push({ instance, syslogName: syslogName.trim(), logFile, endpoints });
  }
  return out;
}

function localAddresses(): Set<string> {
  const out = new Set<string>(["127.0.0.1", canonicalHost("::1")]);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(canonicalHost(a.address));
  return out;
}

export function isLocalListener(endpoints: ListenEndpoint[], local: Set<string>, host: string, port: number): boolean {
  const h = canonicalHost(host);
  return endpoints.some((e) => e.port === port && (e.host === null ? local.has(h) : canonicalHost(e.host) === h));
}

/** The probe message: a unique Message-ID is its tag in the log. */
export function probeMessage(messageId: string, from: string, to: string, now = new Date()): string {
  return [
    `From: <${from}>`,
    `To: <${to}>`,
    `Subject: postfleet mail-flow probe ${messageId}`,
    `Date: ${now.toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: ${messageId}`,
    `X-Postfleet-Probe: ${messageId}`,
    "",
    "A postfleet mail-flow probe: it only checks that mail flows. It can be discarded.",
    "",
  ].join("\n");
}

const ADDRESS = /^[^\s<>"\\]+$/;

export async function handleProbe(req: ProbeRequest, ctx: RequestContext): Promise<ProbeResponse> {
  const started = Date.now();
  const outcome = req.outcome ?? "delivered";
  const messageId = `<postfleet-probe.${Date.now().toString(36)}.${randomBytes(6).toString("hex")}@postfleet.invalid>`;
  const answer: ProbeResponse = {
    id: req.id,
    op: "probe",
    instance: unknownInstance(String(req.instance)),
    ok: false,
    outcome,
    messageId,
    injectedVia: "",
    hops: [],
    removed: [],
    logFiles: [],
    durationMs: 0,
  };
  try {
    if (typeof req.instance !== "string") throw new RequestError("probe request needs an instance name", "usage");
    if (!["delivered", "accepted", "verify"].includes(outcome)) throw new RequestError(`probe outcome must be delivered, accepted or verify, not ${JSON.stringify(outcome)}`, "usage");
    const from = req.sender ?? PROBE_SENDER;
    const to = req.recipient ?? PROBE_RECIPIENT;
    if (!ADDRESS.test(to) || !(from === "" || ADDRESS.test(from))) throw new RequestError("probe sender and recipient must be plain addresses (no spaces, <, >, quotes)", "usage");
    const maxMs = Math.max(100, req.maxLatencyMs ?? PROBE_MAX_LATENCY_MS);
    const ri = await requestInstance(ctx.env, req.instance);
    answer.instance = ri.info;
    const logs = await instanceLogs(ctx, ri);
    const files = [...new Set(logs.flatMap((l) => (l.logFile ? [l.logFile] : [])))];
    if (files.length === 0) throw new RequestError(`no mail log to follow the probe in: maillog_file is empty and none of ${SYSLOG_MAIL_FILES.join(", ")} exists (journald-only logging is not supported)`, "failed");
    answer.logFiles = files;
    const tails = files.map((f) => new LogTail(f));
    const mine = logs.find((l) => l.instance.configDir === ri.instance.configDir) ?? { syslogName: ri.info.name };
    const endpoints = logs.flatMap((l) => l.endpoints);
    const local = localAddresses();
    const byName = new Map(logs.map((l) => [l.syslogName, l]));
    const bySyslog = (s: string) => byName.get(s)?.instance.name ?? (byName.get(s)?.instance.primary ? "-" : null);

    const injectedAt = Date.now();
    let firstQueueId: { syslogName: string; queueId: string } | undefined;
    if (outcome === "verify") {
      const argv = [`${ri.primary.commandDir}/sendmail`, "-C", ri.instance.configDir, "-bv", "-f", from, "--", to];
      answer.injectedVia = `sendmail -C ${ri.instance.configDir} -bv`;
      const r = await spawnCommand(argv, { env: ctx.env, capture: true, signal: ctx.signal, timeoutMs: maxMs, input: probeMessage(messageId, from, to) });
      if (r.exitCode !== 0 || r.spawnError) throw new RequestError(`${argv.join(" ")}: ${(r.stderr.trim() || r.spawnError?.message) ?? `exit ${r.exitCode}`}`);
    } else {
      const target =
        req.address !== undefined || req.port !== undefined
          ? { host: req.address ?? "127.0.0.1", port: req.port ?? 25 }
          : (await smtpListeners(ctx, ri)).targets[0];
      const message = probeMessage(messageId, from, to);
      if (target) {
        answer.injectedVia = `smtp ${targetText(target)}`;
        const sent = await sendSmtp(target, from, to, message, Math.min(maxMs, 30_000), ctx.signal);
        if (!sent.ok) {
          answer.failure = { hop: mine.syslogName, reason: `injection failed: ${sent.detail}` };
          throw new ProbeEnd();
        }
        if (sent.queueId) firstQueueId = { syslogName: mine.syslogName, queueId: sent.queueId };
      } else {
        const argv = [`${ri.primary.commandDir}/sendmail`, "-C", ri.instance.configDir, "-i", "-f", from, "--", to];
        answer.injectedVia = `sendmail -C ${ri.instance.configDir}`;
        const r = await spawnCommand(argv, { env: ctx.env, capture: true, signal: ctx.signal, timeoutMs: maxMs, input: message });
        if (r.exitCode !== 0 || r.spawnError) {
          answer.failure = { hop: mine.syslogName, reason: `injection failed: ${r.stderr.trim() || r.spawnError?.message || `sendmail exit ${r.exitCode}`}` };
          throw new ProbeEnd();
        }
      }
    }

    const tracker = new ProbeTracker({
      messageId,
      outcome,
      isLocalListener: (h, p) => isLocalListener(endpoints, local, h, p),
      isLocalAddress: (h) => local.has(canonicalHost(h)),
      instanceOf: bySyslog,
      firstQueueId,
      ...(outcome === "verify" ? { pickupFrom: { syslogName: mine.syslogName, sender: from } } : {}),
    });
    const deadline = injectedAt + maxMs;
    try {
      for (;;) {
        for (const t of tails) for (const line of t.lines()) tracker.feed(line, Date.now() - injectedAt);
        tracker.settle(Date.now() - injectedAt, FILTER_GRACE_MS);
        const s = tracker.state;
        if (s.done) {
          answer.ok = s.ok;
          if (!s.ok) answer.failure = { hop: s.hop, reason: s.reason, line: s.line };
          break;
        }
        if (ctx.signal.aborted) {
          answer.error = abortError(ctx.signal, "probe");
          break;
        }
        if (Date.now() >= deadline) {
          const last = tracker.lastHop();
          answer.failure = last
            ? { hop: last.syslogName, reason: `no further progress within ${maxMs} ms (queue ID ${last.queueId}${last.status ? `, status=${last.status}` : ", still queued"})`, line: last.line || undefined }
            : { hop: mine.syslogName, reason: `the probe did not appear in ${files.join(", ")} within ${maxMs} ms` };
          break;
        }
        await sleep(POLL_MS, ctx.signal);
      }
    } finally {
      // The last hop's "removed" line follows its delivery line: read it before looking for leftovers.
      for (const stop = Date.now() + 2000; answer.ok && tracker.leftInQueue().length && Date.now() < stop; ) {
        await sleep(POLL_MS, ctx.signal);
        for (const t of tails) for (const line of t.lines()) tracker.feed(line, Date.now() - injectedAt);
      }
      answer.hops = tracker.hops;
      // An accepted probe travels on; everything else still queued (a deferral, a timeout) is removed.
      if (!(answer.ok && outcome === "accepted")) answer.removed = await removeLeftovers(ctx, ri, logs, tracker.leftInQueue());
    }
  } catch (e) {
    if (!(e instanceof ProbeEnd)) answer.error = toAgentError(e);
  }
  if (answer.error || answer.failure) answer.ok = false;
  answer.durationMs = Date.now() - started;
  return answer;
}

class ProbeEnd extends Error {}

/** postsuper -c CONFIG_DIR -d QUEUE_ID for each queue file still holding the probe (or a notice about it). */
async function removeLeftovers(ctx: RequestContext, ri: RequestInstance, logs: InstanceLog[], left: { syslogName: string; queueId: string }[]): Promise<ProbeResponse["removed"]> {
  const out: ProbeResponse["removed"] = [];
  for (const { syslogName, queueId } of left) {
    const l = logs.find((x) => x.syslogName === syslogName);
    const name = l ? (l.instance.name ?? "-") : syslogName;
    if (!l) {
      out.push({ instance: name, queueId, result: `not removed: no instance logs as ${syslogName} on ${hostname()}` });
      continue;
    }
    const argv = [`${ri.primary.commandDir}/postsuper`, "-c", l.instance.configDir, "-d", queueId];
    // Not cancelled with the request: a probe must not stay behind.
    const r = await spawnCommand(argv, { env: ctx.env, capture: true, timeoutMs: 10_000 });
    const said = `${r.stdout}\n${r.stderr}`.split("\n").map((s) => s.trim()).filter(Boolean).join("; ");
    out.push({ instance: name, queueId, result: `${argv.join(" ")}: ${said || `exit ${r.exitCode}`}` });
  }
  return out;
}
