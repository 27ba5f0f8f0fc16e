// Simulated MTA hosts for the scale case (issue 20, part C): one worker
// process serves many hosts, one TCP port on 127.0.0.1 each, with ssh2's
// Server (a real SSH handshake: key exchange, the host key the controller
// checks against its known_hosts, public-key login). What runs on a host is
// simulated, cheaply and in process:
//
// - the loader's exec (src/transport/agent-launch.ts) is answered as a real
//   host's sh would answer it: the host "has" the bundle whose sha256 the
//   parent gave (the controller's dist/agent.cjs), so the same sha256 prints
//   the loader's `verified` line and the agent starts; another sha256 prints
//   `upload-needed`, and the upload exec (agent-push.ts: the bundle on stdin)
//   is read, hashed and remembered for that host;
// - the agent is a small NDJSON loop with canned but realistic answers
//   (protocol 2: hello, facts, postmulti -l, service, health, lock, unlock,
//   queue, cancel, shutdown; heartbeats ignored): every host has Postfix's
//   primary and two instances, postfix-a and postfix-b in group mta, all
//   enabled; their running state is kept per host, so a stop then a start
//   change what they should. No resident agent: `persist` is refused (run
//   the controller with --agent-persist 0).
//
// Started by bench/sim/fleet.ts with child_process.fork; it sends
// { hostKey, agentSha256, ports: [{ port, name }], serviceMs } and waits for
// { ready: true }.
import { createHash } from "node:crypto";
import net from "node:net";
import ssh2 from "ssh2";

const LOADER_PREFIX = "postfleet-loader ";
const INSTANCES = [
  { name: "-", group: "-", enabled: true, configDirectory: "/etc/postfix", primary: true },
  { name: "postfix-a", group: "mta", enabled: true, configDirectory: "/etc/postfix-a", primary: false },
  { name: "postfix-b", group: "mta", enabled: true, configDirectory: "/etc/postfix-b", primary: false },
];
const queueDir = (i) => (i.primary ? "/var/spool/postfix" : `/var/spool/${i.name}`);
const dataDir = (i) => (i.primary ? "/var/lib/postfix" : `/var/lib/${i.name}`);
const LISTING = INSTANCES.map((i) => `${i.name.padEnd(16)}${i.group.padEnd(16)}${"y".padEnd(10)}${i.configDirectory}\n`).join("");

let config;
const hosts = new Map(); // port -> { name, sha256, running: Map<instance, boolean>, pidBase }
const stats = { connections: 0, execs: 0, uploads: 0, requests: 0 };

const later = (ms) => new Promise((r) => setTimeout(r, ms));

function instanceOf(arg) {
  return INSTANCES.find((i) => (arg === "-" ? i.primary : i.name === arg || i.configDirectory === arg));
}

/** The canned agent: answers one request for host `h`. */
async function answer(h, req) {
  const base = { id: req.id, op: req.op };
  switch (req.op) {
    case "facts":
      return {
        ...base,
        postfixVersion: "3.7.11",
        nodeVersion: "18.20.4",
        agentVersion: "0.1.0",
        hostname: h.name,
        instances: INSTANCES.map((i) => ({
          ...i,
          queueDirectory: queueDir(i),
          dataDirectory: dataDir(i),
          running: h.running.get(i.name),
          ...(req.queues ? { queues: { maildrop: 0, incoming: 0, active: 0, deferred: 0, hold: 0, corrupt: 0 } } : {}),
        })),
        multiInstanceWrapper: "${command_directory}/postmulti -p --",
        multiInstanceEnable: true,
        systemd: false,
      };
    case "postmulti": {
      if (req.args.join(" ") === "-l")
        return { ...base, exitCode: 0, dryRun: req.dryRun === true, changed: false, results: [], warnings: [], stdout: LISTING };
      return { ...base, exitCode: 1, dryRun: req.dryRun === true, changed: false, results: [], warnings: [], error: { message: `simulated host: postmulti ${req.args.join(" ")} is not simulated`, code: "usage" } };
    }
    case "service": {
      const i = instanceOf(req.instance);
      if (!i) return { ...base, error: { message: `instance ${req.instance} not found`, code: "not-found" } };
      const up = h.running.get(i.name);
      const skip = (req.action === "start" && up) || (req.action === "stop" && !up);
      const command = skip ? null : ["postfix", "-c", i.configDirectory, req.action];
      if (!skip && !req.dryRun) {
        await later(config.serviceMs);
        if (req.action === "start" || req.action === "restart") h.running.set(i.name, true);
        if (req.action === "stop") h.running.set(i.name, false);
      }
      return {
        ...base,
        instance: i,
        action: req.action,
        via: "postfix",
        command,
        exitCode: 0,
        stdout: "",
        stderr: skip ? "" : `postfix/postfix-script: ${req.action === "stop" ? "stopping" : "starting"} the Postfix mail system\n`,
        durationMs: skip ? 0 : config.serviceMs,
        changed: !skip,
        ...(skip ? { skipped: up ? "already running" : "not running" } : {}),
        dryRun: req.dryRun === true,
      };
    }
    case "health": {
      const i = instanceOf(req.instance);
      if (!i) return { ...base, error: { message: `instance ${req.instance} not found`, code: "not-found" } };
      const up = h.running.get(i.name);
      const checks = (req.checks ?? []).map((c) => {
        if (c.kind === "master") return { kind: c.kind, ok: up, detail: up ? `pid ${h.pidBase + INSTANCES.indexOf(i)}` : "no master process" };
        if (c.kind === "smtp") return { kind: c.kind, ok: up, detail: up ? `220 ${h.name} ESMTP Postfix at 127.0.0.1:${25 + INSTANCES.indexOf(i) * 1000}` : "connection refused" };
        return { kind: c.kind, ok: true, detail: `${c.kind} ok` };
      });
      return { ...base, instance: i, ok: checks.every((c) => c.ok), checks, attempts: 1, durationMs: 3 };
    }
    case "queue": {
      const i = instanceOf(req.instance);
      return { ...base, instance: i, queues: { maildrop: 0, incoming: 0, active: 0, deferred: 0, hold: 0, corrupt: 0 }, oldestDeferredS: null, reasons: [] };
    }
    case "lock":
      return { ...base, path: "/run/postfleet/agent.lock", holder: req.holder };
    case "unlock":
      return { ...base, released: true };
    case "cancel":
      return { ...base, target: req.target, found: false };
    default:
      return { id: req.id, op: "error", error: { message: `simulated host: ${req.op} requests are not simulated`, code: "usage" } };
  }
}

/** The agent started by the loader, on one exec channel. */
function serveAgent(h, stream) {
  stream.write(`${JSON.stringify({ id: 0, op: "hello", protocol: 2, agentVersion: "0.1.0", nodeVersion: "18.20.4", uid: 1000 })}\n`);
  let buf = "";
  let chain = Promise.resolve();
  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    chain.then(() => {
      stream.exit(0);
      stream.end();
    });
  };
  stream.on("data", (d) => {
    buf += d.toString("utf8");
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      let req;
      try {
        req = JSON.parse(line);
      } catch {
        continue;
      }
      if (req.op === "heartbeat") continue;
      stats.requests++;
      if (req.op === "shutdown") {
        chain = chain.then(() => void stream.write(`${JSON.stringify({ id: req.id, op: "shutdown" })}\n`));
        finish();
        return;
      }
      // Requests run one at a time in arrival order, as the real serve loop runs them.
      chain = chain.then(async () => {
        const r = await answer(h, req);
        if (!ended || req.op !== "cancel") stream.write(`${JSON.stringify(r)}\n`);
      });
    }
  });
  stream.on("end", finish);
  stream.on("close", () => (ended = true));
}

function onExec(h, accept, info) {
  stats.execs++;
  const stream = accept();
  const cmd = info.command;
  if (cmd.includes(LOADER_PREFIX.trim())) {
    const sha = /\b([0-9a-f]{64})\b/.exec(cmd)?.[1];
    if (sha !== h.sha256) {
      const path = `/home/postfleet/.cache/postfleet/agent-${sha}.cjs`;
      stream.write(`${LOADER_PREFIX}${JSON.stringify({ status: "upload-needed", reason: h.sha256 ? "missing" : "no-cache", path, nodePath: "/usr/bin/node" })}\n`);
      stream.exit(0);
      stream.end();
      return;
    }
    stream.write(`${LOADER_PREFIX}${JSON.stringify({ status: "verified", path: `/home/postfleet/.cache/postfleet/agent-${sha}.cjs`, ms: 4, node: "18.20.4", nodePath: "/usr/bin/node" })}\n`);
    serveAgent(h, stream);
    return;
  }
  if (cmd.includes('cat > "$t"')) {
    // The upload: the bundle on stdin, its sha256 checked, then the file's path on stdout.
    stats.uploads++;
    const hash = createHash("sha256");
    stream.on("data", (d) => hash.update(d));
    stream.on("end", () => {
      const got = hash.digest("hex");
      const want = /\b([0-9a-f]{64})\b/.exec(cmd)?.[1];
      if (got === want) {
        h.sha256 = got;
        stream.write(`/home/postfleet/.cache/postfleet/agent-${got}.cjs\n`);
        stream.exit(0);
      } else {
        stream.stderr.write(`uploaded file has sha256 ${got}, expected ${want}\n`);
        stream.exit(25);
      }
      stream.end();
    });
    return;
  }
  stream.stderr.write(`sh: simulated host: command not simulated\n`);
  stream.exit(127);
  stream.end();
}

function start(msg) {
  config = msg;
  const server = new ssh2.Server({ hostKeys: [msg.hostKey] }, (client) => {
    stats.connections++;
    // The host is the port the controller connected to.
    const h = hosts.get(client._sock.localPort);
    // Public-key login, any key (the controller's signature is not what is measured here).
    client.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
    client.on("ready", () => {
      client.on("session", (accept) => {
        const session = accept();
        session.on("env", (acc) => acc?.());
        session.on("exec", (acc, _rej, info) => onExec(h, acc, info));
      });
    });
    client.on("error", () => undefined);
  });
  let pending = msg.ports.length;
  for (const [k, { port, name }] of msg.ports.entries()) {
    hosts.set(port, { name, sha256: msg.agentSha256, running: new Map(INSTANCES.map((i) => [i.name, true])), pidBase: 1000 + k * 10 });
    const s = net.createServer((sock) => {
      sock.on("error", () => undefined);
      server.injectSocket(sock);
    });
    s.listen(port, "127.0.0.1", () => {
      if (--pending === 0) process.send?.({ ready: true });
    });
    s.on("error", (e) => process.connected && process.send?.({ error: `port ${port}: ${e.message}` }));
  }
}

process.on("message", (msg) => {
  if (msg?.hostKey) start(msg);
  if (msg?.stats) process.send?.({ stats: { ...stats } });
});
process.on("disconnect", () => process.exit(0));
