import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../../../src/orchestrator/events.js";
import type { HostResult } from "../../../src/orchestrator/operations.js";
import { ABORTED_BEFORE_START, FleetRun, type RunSettings } from "../../../src/orchestrator/fleet-run.js";
import { AuthError, UnreachableError } from "../../../src/transport/index.js";

const ok: HostResult = { status: "ok", results: [] };
const tick = () => new Promise((r) => setTimeout(r, 5));

function fleet(hosts: string[], extra: Partial<RunSettings> = {}): FleetRun {
  return new FleetRun({
    targets: new Map(hosts.map((h) => [h, { name: h, address: `${h}.invalid` }])),
    forks: 3,
    opTimeoutMs: 1000,
    agentBundle: "/nonexistent/agent.cjs",
    transport: {},
    ...extra,
  });
}

const hostsN = (n: number) => Array.from({ length: n }, (_, i) => `h${i}`);

describe("FleetRun.runHosts", () => {
  it("keeps the given order in its outcomes and never works on more than `forks` hosts at once", async () => {
    const hosts = hostsN(12);
    const run = fleet(hosts);
    let running = 0;
    let peak = 0;
    const out = await run.runHosts(hosts, async () => {
      running++;
      peak = Math.max(peak, running);
      await tick();
      running--;
      return ok;
    });
    expect(out.map((o) => o.host)).toEqual(hosts);
    expect(peak).toBe(3);
    expect(out.every((o) => o.durationMs >= 0)).toBe(true);
  });

  it("turns a throwing host into its own outcome: unreachable only for unreachable, failed otherwise", async () => {
    const run = fleet(["a", "b", "c"]);
    const out = await run.runHosts(["a", "b", "c"], async ({ host }) => {
      if (host === "a") throw new UnreachableError("a", "connect ECONNREFUSED");
      if (host === "b") throw new AuthError("b", "all authentication methods failed");
      return ok;
    });
    expect(out.map((o) => o.status)).toEqual(["unreachable", "failed", "ok"]);
    expect(out[0]!.error).toMatch(/ECONNREFUSED/);
    expect(out[1]!.error).toMatch(/authentication/);
  });

  it("after a stop, lets hosts in progress finish and skips the rest with the reason", async () => {
    const stop = new AbortController();
    const hosts = ["a", "b", "c", "d"];
    const run = fleet(hosts, { forks: 2, stop: stop.signal });
    const started: string[] = [];
    const out = await run.runHosts(hosts, async ({ host }) => {
      started.push(host);
      await tick();
      if (host === "a") stop.abort();
      else await tick();
      return ok;
    });
    expect(started).toEqual(["a", "b"]);
    expect(out.map((o) => o.status)).toEqual(["ok", "ok", "skipped", "skipped"]);
    expect(out[2]!.error).toBe(ABORTED_BEFORE_START);
    expect(run.stopped).toBe(true);
  });

  it("skips hosts for the caller's reason (a spent failure budget) without stopping the run", async () => {
    const hosts = ["a", "b", "c"];
    const run = fleet(hosts, { forks: 1 });
    let failures = 0;
    const out = await run.runHosts(
      hosts,
      async () => {
        failures++;
        return { status: "failed", error: "boom", results: [] };
      },
      { skipReason: () => (failures >= 2 ? "failure budget spent" : undefined) },
    );
    expect(out.map((o) => o.status)).toEqual(["failed", "failed", "skipped"]);
    expect(out[2]!.error).toBe("failure budget spent");
    expect(run.stopped).toBe(false);
  });

  it("emits host-started and host-finished for each host it works on, and names hosts in flight", async () => {
    const run = fleet(["a", "b"], { forks: 2 });
    const events: RunEvent[] = [];
    run.events.on((e) => events.push(e));
    let seenInFlight: string[] = [];
    await run.runHosts(["a", "b"], async ({ host }) => {
      run.doing(host, "restart postfix-out");
      await tick();
      seenInFlight = run.inFlight().map((f) => `${f.host}: ${f.doing}`);
      return ok;
    });
    expect(seenInFlight.length).toBeGreaterThan(0);
    expect(seenInFlight[0]).toMatch(/^(a|b): restart postfix-out$/);
    expect(run.inFlight()).toEqual([]);
    const kinds = events.map((e) => `${e.type}:${e.type === "host-started" ? e.host : e.type === "host-finished" ? e.outcome.host : ""}`);
    expect(kinds).toEqual(["host-started:a", "host-started:b", "host-finished:a", "host-finished:b"]);
  });

  it("a watcher that throws does not stop the run", async () => {
    const run = fleet(["a"]);
    run.events.on(() => {
      throw new Error("broken terminal");
    });
    const out = await run.runHosts(["a"], async () => ok);
    expect(out[0]!.status).toBe("ok");
  });
});

describe("FleetRun.runOperation", () => {
  it("makes the run document with the operation's label, and announces start and end", async () => {
    const run = fleet(["a", "b"]);
    const events: string[] = [];
    run.events.on((e) => events.push(e.type));
    const doc = await run.runOperation(["a", "b"], {
      label: "postmulti -l",
      run: async ({ host }) => (host === "b" ? { status: "changed", results: [] } : ok),
    });
    expect(doc.command).toBe("postmulti -l");
    expect(doc.summary).toEqual({ ok: 1, changed: 1, failed: 0, unreachable: 0, skipped: 0 });
    expect(doc.aborted).toBe(false);
    expect(events[0]).toBe("run-started");
    expect(events.at(-1)).toBe("run-finished");
  });

  it("a host the engine cannot reach becomes unreachable in the document (real connection attempt to a closed port)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "postfleet-run-"));
    const key = join(dir, "id_rsa");
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(key, privateKey.export({ type: "pkcs1", format: "pem" }), { mode: 0o600 });
    const run = new FleetRun({
      targets: new Map([["closed", { name: "closed", address: "127.0.0.1", port: 1, connectTimeoutMs: 2000, privateKeyFiles: [key] }]]),
      forks: 1,
      opTimeoutMs: 2000,
      agentBundle: "/nonexistent/agent.cjs",
      transport: {},
    });
    const doc = await run.runOperation(["closed"], { label: "ping", run: async ({ session }) => (await session.agent(), ok) });
    expect(doc.hosts[0]!.status).toBe("unreachable");
    expect(doc.summary.unreachable).toBe(1);
    rmSync(dir, { recursive: true, force: true });
  });
});
