// Shared pieces for the transport integration tests: targets for lab hosts
// and a tiny fake agent speaking the NDJSON protocol (until/besides the real one).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PROTOCOL_VERSION } from "../../src/protocol/index.js";
import type { HostSession, TransportOptions } from "../../src/transport/index.js";
import type { ConnectionTarget } from "../../src/shared/connection-target.js";
import type { Lab } from "./lab.js";

/** Nothing from the machine running the tests: no ~/.ssh/config, no agent, no default keys. */
export const isolated: TransportOptions = { sshConfig: { files: [] }, agentSocket: null, defaultKeys: false, globalKnownHostsFiles: [] };

export function labTarget(lab: Lab, i: number, extra: Partial<ConnectionTarget> = {}): ConnectionTarget {
  const h = lab.hosts[i]!;
  return {
    name: h.name,
    address: h.address,
    port: h.port,
    user: lab.user,
    privateKeyFiles: [lab.privateKeyPath],
    knownHostsFile: lab.knownHostsPath,
    ...extra,
  };
}

/**
 * A fake agent speaking protocol 2 (__PROTOCOL__ is replaced by the version to
 * announce): hello, then echoes postmulti args; "die" exits with stderr;
 * "slow" answers only when cancelled (error code "cancelled", one result
 * done); "bad" gets an error response.
 */
export const FAKE_AGENT = `
const readline = require("readline");
const tag = process.env.FAKE_TAG || "fake";
const out = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
const slow = new Map();
const result = (args) => ({ name: "-", group: "-", enabled: true, configDirectory: "/etc/postfix", primary: true, command: args, exitCode: 0, stdout: JSON.stringify(args), stderr: "", durationMs: 0, changed: false });
out({ id: 0, op: "hello", protocol: __PROTOCOL__, agentVersion: tag, nodeVersion: process.versions.node, uid: process.getuid() });
readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const r = JSON.parse(line);
  if (r.op === "heartbeat") return; // the controller's, never answered
  if (r.op === "shutdown") { out({ id: r.id, op: "shutdown" }); process.exit(0); }
  if (r.op === "cancel") {
    const held = slow.get(r.target);
    out({ id: r.id, op: "cancel", target: r.target, found: !!held });
    if (held) { slow.delete(r.target); out({ id: r.target, op: "postmulti", exitCode: 1, dryRun: false, changed: false, warnings: [], results: [result(["first-done"])], error: { code: "cancelled", message: "cancelled by the controller" } }); }
    return;
  }
  if (r.op === "facts") return out({ id: r.id, op: "facts", postfixVersion: "x", nodeVersion: process.versions.node, agentVersion: tag, hostname: require("os").hostname(), instances: [] });
  if (r.args[0] === "die") { process.stderr.write("fake agent: something broke\\n"); process.exit(3); }
  if (r.args[0] === "slow") return void slow.set(r.id, r);
  if (r.args[0] === "bad") return out({ id: r.id, op: "error", error: { code: "usage", message: "bad request" } });
  out({ id: r.id, op: "postmulti", exitCode: 0, dryRun: false, changed: false, warnings: [], results: [result(r.args)] });
});
`;

let fakeDir: string | undefined;
let fakeCount = 0;

/** A fake agent bundle; each variant has its own content, hence its own sha256. */
export function writeFakeAgent(variant = "", protocol: number = PROTOCOL_VERSION): string {
  fakeDir ??= mkdtempSync(join(tmpdir(), "postfleet-fake-agent-"));
  const path = join(fakeDir, `agent-${fakeCount++}.cjs`);
  writeFileSync(path, `${FAKE_AGENT.replace("__PROTOCOL__", String(protocol))}\n// variant ${variant}\n`);
  return path;
}

export function removeFakeAgents(): void {
  if (fakeDir) rmSync(fakeDir, { recursive: true, force: true });
  fakeDir = undefined;
}

/** The error a promise rejects with; fails the test if it resolves (closing a session it opened). */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    const v = await p;
    if (v && typeof (v as HostSession).close === "function") await (v as HostSession).close();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}
