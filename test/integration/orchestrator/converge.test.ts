// The `instances` step on real lab hosts, through a real RunHostSession (one
// started agent per host): the MULTI_INSTANCE_README border MTA built from
// nothing, a second run that changes nothing, --check that leaves a fresh
// host byte for byte as it was, and `absent` with postmulti's safety rules.
// Real Postfix (postmulti -l, postconf) is the judge of what was done.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunHostSession } from "../../../src/orchestrator/host-session.js";
import { convergeInstances } from "../../../src/orchestrator/steps/converge.js";
import type { DesiredInstanceSpec } from "../../../src/orchestrator/steps/step-model.js";
import type { InstanceStepResult } from "../../../src/orchestrator/steps/step-results.js";
import { loadFacts, type StepContext } from "../../../src/orchestrator/steps/step-context.js";
import type { FactsResponse } from "../../../src/protocol/index.js";
import { startLab, type Lab, type TestLabHost } from "../../support/lab.js";
import { isolated, labTarget } from "../../support/transport.js";

const BUNDLE = resolve("dist/agent.cjs");

const LOCAL_OFF = { mydestination: "", alias_maps: "", alias_database: "", local_recipient_maps: "", local_transport: "error:5.1.1 Mailbox unavailable" };
/** The walk-through's three instances (MULTI_INSTANCE_README), as playbooks/create-instances.yml has them. */
const BORDER: DesiredInstanceSpec[] = [
  { name: "-", state: "enabled", settings: { main: { master_service_disable: "inet", relayhost: "[mailhub.example.com]", ...LOCAL_OFF } } },
  {
    name: "postfix-out",
    group: "mta",
    state: "enabled",
    settings: {
      master: { "smtp/inet": null, "127.0.0.1:10026/inet": { private: "n", chroot: "n", command: "smtpd" } },
      main: {
        inet_interfaces: "loopback-only",
        mynetworks_style: "host",
        smtpd_authorized_xforward_hosts: "$mynetworks",
        smtpd_relay_restrictions: "",
        smtpd_recipient_restrictions: "permit_mynetworks, reject",
        relay_domains: "example.com, .example.com",
        master_service_disable: "",
        authorized_submit_users: "root",
        ...LOCAL_OFF,
      },
    },
  },
  {
    name: "postfix-in",
    group: "mta",
    state: "enabled",
    settings: {
      main: {
        inet_interfaces: "127.0.0.1",
        default_transport: "smtp:[127.0.0.1]:10025",
        relay_transport: "$default_transport",
        smtp_send_xforward_command: "yes",
        master_service_disable: "",
        authorized_submit_users: "root",
        ...LOCAL_OFF,
      },
    },
  },
];

/** A StepContext as the engine makes one: facts cached until invalidated. */
function stepContext(session: RunHostSession, check: boolean): StepContext & { invalidations: () => number } {
  let facts: Promise<FactsResponse> | undefined;
  let invalidations = 0;
  return {
    host: session.host,
    session,
    check,
    opTimeoutMs: 60_000,
    hardStop: new AbortController().signal,
    interrupted: () => undefined,
    facts: () => (facts ??= loadFacts(session)),
    invalidateFacts: () => {
      facts = undefined;
      invalidations++;
    },
    predict: () => {},
    predicted: () => false,
    doing: () => {},
    prompt: async () => {},
    invalidations: () => invalidations,
  };
}

const sh = async (h: TestLabHost, cmd: string) => {
  const r = await h.exec(cmd);
  return r.stdout;
};

/** What --check must not change: Postfix's view and the instances' files (contents of /etc, the trees elsewhere). */
async function snapshot(h: TestLabHost): Promise<Record<string, string>> {
  return {
    main: await sh(h, "postconf -n"),
    master: await sh(h, "postconf -M"),
    list: await sh(h, "postmulti -l"),
    etc: await sh(h, "cd /etc && find postfix* -printf '%p %y %u %g %m\\n' | sort && find postfix* -type f -exec sha256sum {} + | sort"),
    // Running masters touch fifos and prng_exch: compare the trees, not their times.
    var: await sh(h, "find /var/spool/postfix* /var/lib/postfix* -maxdepth 1 -printf '%p %y %u %g %m\\n' 2>/dev/null | sort"),
  };
}

describe("instances step (convergeInstances) on lab hosts", () => {
  let lab: Lab;
  let checkResults: InstanceStepResult[] = [];
  const sessions: RunHostSession[] = [];
  const session = (i: number) => {
    const s = new RunHostSession(labTarget(lab, i), { agentBundle: BUNDLE, transport: isolated });
    sessions.push(s);
    return s;
  };

  beforeAll(async () => {
    expect(existsSync(BUNDLE), "run `npm run bundle` first").toBe(true);
    lab = await startLab(2);
  });
  afterAll(async () => {
    await Promise.allSettled(sessions.map((s) => s.close()));
    await lab?.stop();
  });

  it("--check on a fresh host says what it would do and leaves postconf -n, postmulti -l and the file tree unchanged", async () => {
    const h = lab.hosts[1]!;
    const before = await snapshot(h);
    const ctx = stepContext(session(1), true);
    const { results, changed } = await convergeInstances(ctx, BORDER);
    expect(results.map((r) => [r.instance, r.status])).toEqual([
      ["-", "changed"],
      ["postfix-out", "changed"],
      ["postfix-in", "changed"],
    ]);
    expect(results[0]!.action).toMatch(/^would change \d+ settings$/);
    expect(results[0]!.changes?.find((c) => c.name === "relayhost")).toMatchObject({ file: "main.cf", after: "[mailhub.example.com]" });
    // Diffed against the instance as its create would make it (master_service_disable = inet, authorized_submit_users =, smtp/inet…).
    expect(results[1]!.action).toBe("would initialise multi-instance support, create, change 15 settings, enable");
    expect(results[1]!.changes?.find((c) => c.name === "master_service_disable")).toEqual({ file: "main.cf", name: "master_service_disable", before: "inet", after: "" });
    expect(results[1]!.changes?.find((c) => c.name === "smtp/inet")).toMatchObject({ before: "smtp inet n - y - - smtpd", after: null, kind: "entry" });
    expect(results[1]!.commands).toEqual(["postmulti -e init", "postmulti -I postfix-out -G mta -e create", "postmulti -i postfix-out -e enable"]);
    expect(results[2]!.action).toBe("would create, change 11 settings, enable");
    expect(changed).toEqual(["-", "postfix-out", "postfix-in"]);
    expect(ctx.invalidations()).toBe(0);
    expect(await snapshot(h)).toEqual(before);
    expect(before.list).not.toMatch(/postfix-out/);
    checkResults = results;
  });

  it("builds the border MTA: init, instances created in order, settings applied, enabled but not started", async () => {
    const h = lab.hosts[0]!;
    const ctx = stepContext(session(0), false);
    const { results, changed } = await convergeInstances(ctx, BORDER);
    expect(results.map((r) => [r.instance, r.status, r.error])).toEqual([
      ["-", "changed", undefined],
      ["postfix-out", "changed", undefined],
      ["postfix-in", "changed", undefined],
    ]);
    expect(results[1]!.action).toBe("multi-instance support initialised, created, 15 settings, enabled");
    expect(results[2]!.action).toBe("created, 11 settings, enabled");
    // --check on the other (identical, fresh) host announced exactly these changes to the new instances.
    for (const i of [1, 2]) expect(checkResults[i]!.changes, results[i]!.instance).toEqual(results[i]!.changes);
    expect(changed).toEqual(["-", "postfix-out", "postfix-in"]);
    expect(ctx.invalidations()).toBeGreaterThanOrEqual(5);

    // Real postmulti: both in group mta, enabled, output before input (start order).
    const list = (await sh(h, "postmulti -l")).trim().split("\n").map((l) => l.trim().split(/\s+/));
    expect(list).toEqual([
      ["-", "-", "y", "/etc/postfix"],
      ["postfix-out", "mta", "y", "/etc/postfix-out"],
      ["postfix-in", "mta", "y", "/etc/postfix-in"],
    ]);
    expect(await sh(h, "postconf -h relayhost master_service_disable mydestination")).toBe("[mailhub.example.com]\ninet\n\n");
    expect(await sh(h, "postconf -c /etc/postfix-out -h inet_interfaces smtpd_recipient_restrictions authorized_submit_users")).toBe(
      "loopback-only\npermit_mynetworks, reject\nroot\n",
    );
    const outMaster = await sh(h, "postconf -c /etc/postfix-out -M");
    expect(outMaster).toMatch(/^127\.0\.0\.1:10026\s+inet\s+n\s+-\s+n\s+-\s+-\s+smtpd$/m);
    expect(outMaster).not.toMatch(/^smtp\s+inet/m);
    expect(await sh(h, "postconf -c /etc/postfix-in -h default_transport inet_interfaces")).toBe("smtp:[127.0.0.1]:10025\n127.0.0.1\n");
    // Enabling does not start.
    expect((await h.exec("postfix -c /etc/postfix-out status")).exitCode).not.toBe(0);
    expect((await h.exec("postfix -c /etc/postfix-in status")).exitCode).not.toBe(0);
  });

  it("a second run changes nothing and says so; so does --check on the converged host", async () => {
    const h = lab.hosts[0]!;
    const before = await snapshot(h);
    for (const check of [false, true]) {
      const ctx = stepContext(session(0), check);
      const { results, changed } = await convergeInstances(ctx, BORDER);
      expect(results.map((r) => [r.instance, r.status, r.action])).toEqual([
        ["-", "ok", "unchanged"],
        ["postfix-out", "ok", "unchanged"],
        ["postfix-in", "ok", "unchanged"],
      ]);
      expect(changed).toEqual([]);
      expect(ctx.invalidations()).toBe(0);
    }
    expect(await snapshot(h)).toEqual(before);
  });

  it("disabled: a running instance is stopped then disabled; one disabled by hand but still running is stopped too", async () => {
    const h = lab.hosts[0]!;
    const running = async (dir: string) => (await h.exec(`postfix -c ${dir} status`)).exitCode === 0;
    expect((await h.exec("postmulti -i postfix-out -p start")).exitCode).toBe(0);
    const disabled: DesiredInstanceSpec[] = [{ name: "postfix-out", group: "mta", state: "disabled", settings: {} }];
    const first = await convergeInstances(stepContext(session(0), false), disabled);
    expect(first.results[0]).toMatchObject({ status: "changed", action: "stopped, disabled" });
    expect(await running("/etc/postfix-out")).toBe(false);
    expect(await sh(h, "postmulti -l")).toMatch(/^postfix-out\s+mta\s+n\s+\/etc\/postfix-out$/m);

    // Started outside postmulti's rules (postfix -c ignores multi_instance_enable), then converged again.
    expect((await h.exec("postfix -c /etc/postfix-out start")).exitCode).toBe(0);
    const second = await convergeInstances(stepContext(session(0), false), disabled);
    expect(second.results[0]).toMatchObject({ status: "changed", action: "stopped", commands: ["postmulti -i postfix-out -x postfix stop"] });
    expect(await running("/etc/postfix-out")).toBe(false);
    const third = await convergeInstances(stepContext(session(0), false), disabled);
    expect(third.results[0]).toMatchObject({ status: "ok", action: "unchanged" });

    // Back to enabled for what follows (not started).
    const back = await convergeInstances(stepContext(session(0), false), [BORDER[1]!]);
    expect(back.results[0]).toMatchObject({ status: "changed", action: "enabled" });
  });

  it("absent refuses an instance whose queue holds mail, touching nothing, and reports why", async () => {
    const h = lab.hosts[0]!;
    const q = await h.exec("printf 'Subject: held\\n\\nqueued\\n' | postmulti -i postfix-out -x sendmail -f root root@example.com");
    expect(q.exitCode).toBe(0);
    const ctx = stepContext(session(0), false);
    const { results } = await convergeInstances(ctx, [{ name: "postfix-out", state: "absent", settings: {} }]);
    expect(results[0]).toMatchObject({ instance: "postfix-out", status: "failed" });
    expect(results[0]!.error).toMatch(/^postfix-out is not destroyed: its queue still holds 1 message \(maildrop 1\)/);
    expect(await sh(h, "postmulti -l")).toMatch(/^postfix-out\s+mta\s+y\s+\/etc\/postfix-out$/m);
    await h.exec("postsuper -c /etc/postfix-out -d ALL");
  });

  it("absent stops a running instance, disables and destroys it, in that order; a second run leaves it absent", async () => {
    const h = lab.hosts[0]!;
    expect((await h.exec("postmulti -i postfix-in -p start")).exitCode).toBe(0);
    expect((await h.exec("postfix -c /etc/postfix-in status")).exitCode).toBe(0);
    const desired: DesiredInstanceSpec[] = [{ name: "postfix-in", state: "absent", settings: {} }];
    // --check first: postmulti's refusal to destroy a (still) enabled instance is expected there, and nothing changes.
    const listed = await sh(h, "postmulti -l");
    const dry = await convergeInstances(stepContext(session(0), true), desired);
    expect(dry.results[0]).toMatchObject({ instance: "postfix-in", status: "changed", action: "would stop, disable, destroy" });
    expect(await sh(h, "postmulti -l")).toBe(listed);
    expect((await h.exec("postfix -c /etc/postfix-in status")).exitCode).toBe(0);

    const first = await convergeInstances(stepContext(session(0), false), desired);
    expect(first.results[0]).toMatchObject({ instance: "postfix-in", status: "changed", action: "stopped, disabled, destroyed" });
    expect(first.results[0]!.commands?.slice(1)).toEqual(["postmulti -i postfix-in -e disable", "postmulti -i postfix-in -e destroy"]);
    expect(await sh(h, "postmulti -l")).not.toMatch(/postfix-in/);
    expect((await h.exec("test -e /etc/postfix-in")).exitCode).not.toBe(0);
    const again = await convergeInstances(stepContext(session(0), false), desired);
    expect(again.results[0]).toMatchObject({ status: "ok", action: "unchanged (absent)" });
  });
});
