// Mail-flow probes on a `--mail-flow` lab host (postfix-in :25 → postfix-filter
// 127.0.0.1:10025 → postfix-out 127.0.0.1:10026 → smtp-sink 127.0.0.1:2525):
// the agent's probe request crosses every hop with per-hop latencies; with
// the filter stopped it fails at postfix-in naming the refused connection and
// removes the probe from the queue. In playbooks: a `wait` with the probe
// check, and a restart gated on the probe (passing; and failing at the hop
// whose next hop is down, the later step untouched). With --systemd the same
// chain runs as enabled postfix@ units plus the sink's unit.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProbeRequest, ProbeResponse } from "../../../src/protocol/index.js";
import { installAgent, serveOnce } from "../../support/agent-on-host.js";
import { jsonOf } from "../../support/cli.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { explain, outcomeOf, runPlaybook, writePlaybook } from "../../support/playbook.js";

/** A one-play playbook on every host with these steps (YAML, indented by 4). */
const play = (name: string, steps: string) => writePlaybook(name, `- name: probe-gated restart\n  hosts: all\n  steps:\n${steps}`);

const probe = (host: TestLabHost, req: Omit<ProbeRequest, "id" | "op">) => serveOnce<ProbeResponse>(host, { op: "probe", ...req });

/** Messages in every queue of every instance (postqueue -j lines). */
async function queued(host: TestLabHost): Promise<string> {
  const r = await host.exec("for d in /etc/postfix /etc/postfix-in /etc/postfix-filter /etc/postfix-out; do postqueue -c $d -j; done");
  return r.stdout.trim();
}

describe("mail-flow probe (agent request) on a --mail-flow lab host", { timeout: 300_000 }, () => {
  let lab: Lab;
  let host: TestLabHost;

  beforeAll(async () => {
    lab = await startLab(1, { mailFlow: true });
    host = lab.hosts[0]!;
    await installAgent(host);
  }, 300_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("crosses postfix-in → postfix-filter → postfix-out → the sink, with each hop's latency", async () => {
    const a = await probe(host, { instance: "postfix-in", maxLatencyMs: 60_000 });
    expect(a.error).toBeUndefined();
    expect(a.failure).toBeUndefined();
    expect(a.ok).toBe(true);
    expect(a.injectedVia).toBe("smtp 127.0.0.1:25");
    expect(a.logFiles).toEqual(["/var/log/postfix.log"]);
    expect(a.hops.map((h) => [h.syslogName, h.instance, h.status])).toEqual([
      ["postfix-in", "postfix-in", "sent"],
      ["postfix-filter", "postfix-filter", "sent"],
      ["postfix-out", "postfix-out", "sent"],
    ]);
    expect(a.hops.map((h) => h.relay)).toEqual(["127.0.0.1[127.0.0.1]:10025", "127.0.0.1[127.0.0.1]:10026", "127.0.0.1[127.0.0.1]:2525"]);
    for (const h of a.hops) expect(h.latencyMs).toBeGreaterThanOrEqual(0);
    expect(a.removed).toEqual([]);
    expect(await queued(host)).toBe("");
    // The tag is in the log of every hop.
    const log = (await host.exec(["grep", "-c", `message-id=${a.messageId}`, "/var/log/postfix.log"])).stdout.trim();
    expect(log).toBe("3");
  });

  it("with the filter stopped, fails at postfix-in naming the refused hop, and leaves nothing queued", async () => {
    await host.exec("postmulti -i postfix-filter -p stop");
    try {
      const a = await probe(host, { instance: "postfix-in", maxLatencyMs: 60_000 });
      expect(a.ok).toBe(false);
      expect(a.failure?.hop).toBe("postfix-in");
      expect(a.failure?.reason).toMatch(/^deferred: .*connect to 127\.0\.0\.1\[127\.0\.0\.1\]:10025: Connection refused/);
      expect(a.failure?.line).toMatch(/postfix-in\/smtp\[\d+\]: [0-9A-F]+: to=<probe@postfleet\.invalid>, relay=none, .*status=deferred/);
      expect(a.hops).toHaveLength(1);
      expect(a.removed).toHaveLength(1);
      expect(a.removed[0]).toMatchObject({ instance: "postfix-in", queueId: a.hops[0]!.queueId });
      expect(a.removed[0]!.result).toMatch(/postsuper -c \/etc\/postfix-in -d [0-9A-F]+: .*Deleted: 1 message/);
      expect(await queued(host)).toBe("");
    } finally {
      await host.exec("postmulti -i postfix-filter -p start");
    }
  });

  it("verify: sendmail -bv into postfix-out (once it lets root submit) finds the recipient deliverable, and its report is not left queued", async () => {
    // postmulti-created instances have authorized_submit_users empty: nobody may use their sendmail.
    const refused = await probe(host, { instance: "postfix-out", outcome: "verify", maxLatencyMs: 30_000 });
    expect(refused.ok).toBe(false);
    expect(refused.error?.message).toMatch(/sendmail: fatal: User root\(0\) is not allowed to submit mail/);
    await host.exec(["postconf", "-c", "/etc/postfix-out", "-e", "authorized_submit_users=static:anyone"]);
    const a = await probe(host, { instance: "postfix-out", outcome: "verify", maxLatencyMs: 30_000 });
    expect(a.failure).toBeUndefined();
    expect(a.ok).toBe(true);
    expect(a.injectedVia).toBe("sendmail -C /etc/postfix-out -bv");
    expect(a.hops.map((h) => [h.syslogName, h.status, h.relay])).toEqual([["postfix-out", "deliverable", "127.0.0.1[127.0.0.1]:2525"]]);
    expect(await queued(host)).toBe("");
  });

  it("playbook: a wait with the probe check, then a restart gated on a probe, report every hop", async () => {
    const pb = play(
      "probe.yml",
      `    - name: mail flows
      instances: [postfix-in]
      wait:
        probe: {max_latency: 60s}
        timeout: 90s
    - name: restart the chain
      instances: [postfix-out, postfix-filter, postfix-in]
      restart:
        gate:
          probe: {instance: postfix-in, outcome: delivered, max_latency: 60s}
`,
    );
    const r = await runPlaybook(lab, pb, ["--json"]);
    expect(r.exitCode, explain(r)).toBe(0);
    const h = outcomeOf(jsonOf(r), "mta01");
    const [wait, restart] = h.steps as any[];
    expect(wait.status).toBe("ok");
    expect(wait.instances[0].probe.hops.map((x: { instance: string }) => x.instance)).toEqual(["postfix-in", "postfix-filter", "postfix-out"]);
    expect(restart.status).toBe("changed");
    const gate = restart.instances.find((i: { probe?: unknown }) => i.probe);
    expect(gate.instance).toBe("postfix-in");
    expect(gate.action).toMatch(/^mail flows \(delivered\): postfix-in \d+ ms → postfix-filter \d+ ms → postfix-out \d+ ms → 127\.0\.0\.1\[127\.0\.0\.1\]:2525$/);
    expect(await queued(host)).toBe("");
  });

  it("playbook: a restart whose probe gate fails names the hop and the log line, fails the host, and later steps do not run", async () => {
    const pb = play(
      "probe-fail.yml",
      `    - name: stop the filter
      instances: [postfix-filter]
      stop:
    - name: restart the input
      instances: [postfix-in]
      restart:
        gate: {probe: {max_latency: 60s}}
    - name: after
      instances: ["-"]
      run: ["touch", "/tmp/after-probe"]
`,
    );
    try {
      const r = await runPlaybook(lab, pb);
      expect(r.exitCode, explain(r)).not.toBe(0);
      expect(r.stdout).toMatch(/mail-flow probe failed: probe <postfleet-probe\.[^>]+> via smtp 127\.0\.0\.1:25 failed at postfix-in: deferred: .*connect to 127\.0\.0\.1\[127\.0\.0\.1\]:10025: Connection refused/);
      expect(r.stdout).toMatch(/\(log: .*postfix-in\/smtp\[\d+\]: [0-9A-F]+: to=<probe@postfleet\.invalid>.*status=deferred/);
      expect(r.stdout).toMatch(/removed from the queue: postfix-in [0-9A-F]+/);
      expect(r.stdout).toMatch(/removed from postfix-in: \S*postsuper -c \/etc\/postfix-in -d [0-9A-F]+: .*Deleted: 1 message/);
      expect((await host.exec(["test", "-e", "/tmp/after-probe"])).exitCode).not.toBe(0);
      expect(await queued(host)).toBe("");
    } finally {
      await host.exec("postmulti -i postfix-filter -p start");
    }
  });
});

describe("--mail-flow with --systemd: the chain runs as enabled units", { timeout: 300_000 }, () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(1, { mailFlow: true, systemd: true });
    await installAgent(lab.hosts[0]!);
  }, 300_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("postfix@ units and the sink unit are enabled and active, and a probe crosses every hop", async () => {
    const host = lab.hosts[0]!;
    const units = ["postfix@-.service", "postfix@postfix-in.service", "postfix@postfix-filter.service", "postfix@postfix-out.service", "postfleet-lab-sink.service"];
    const r = await host.exec(["sh", "-c", `systemctl is-enabled ${units.join(" ")}; systemctl is-active ${units.join(" ")}`]);
    expect(r.stdout.trim().split("\n")).toEqual([...units.map(() => "enabled"), ...units.map(() => "active")]);
    const a = await probe(host, { instance: "postfix-in", maxLatencyMs: 60_000 });
    expect(a.failure).toBeUndefined();
    expect(a.ok).toBe(true);
    expect(a.hops.map((h) => h.instance)).toEqual(["postfix-in", "postfix-filter", "postfix-out"]);
    expect(await queued(host)).toBe("");
  });
});
