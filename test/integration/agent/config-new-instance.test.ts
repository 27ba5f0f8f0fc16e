// `config` with `newInstance` on a real lab host: the agent's simulated
// instance (built in a temporary directory as postmulti-script would) is
// compared with what Postfix's own `postmulti -e create` then really makes,
// byte for byte as postconf -n / postconf -M print them, and the spec's
// diff with what a real `config` on the created instance reports. Nothing on
// the host changes while simulating.
import { describe, expect, it } from "vitest";
import { SHARED_PARAMETERS } from "../../../src/agent/postmulti/new-instance.js";
import type { ConfigResponse, ConfigSpec } from "../../../src/protocol/index.js";
import type { TestLabHost } from "../../support/lab.js";
import { postfixState } from "../../support/postfix-state.js";
import { config } from "../../support/agent-requests.js";
import { mustSh, sh, withLabAgent } from "../../support/agent-on-host.js";

// postfix-out of playbooks/create-instances.yml (MULTI_INSTANCE_README's output instance).
const OUT_SPEC: ConfigSpec = {
  master: {
    "smtp/inet": null,
    "127.0.0.1:10026/inet": { private: "n", unprivileged: "-", chroot: "n", wakeup: "-", process_limit: "-", command: "smtpd" },
  },
  main: {
    inet_interfaces: "loopback-only",
    mynetworks_style: "host",
    smtpd_authorized_xforward_hosts: "$mynetworks",
    smtp_bind_address: "0.0.0.0",
    mydestination: "",
    local_transport: "error:5.1.1 Mailbox unavailable",
    smtpd_recipient_restrictions: "permit_mynetworks, reject",
    relay_domains: "example.com, .example.com",
    // Both already set by the create (to other values), and one that the create sets exactly so.
    master_service_disable: "",
    authorized_submit_users: "root",
    queue_directory: "/var/spool/postfix-out",
  },
  mainAbsent: ["unknown_local_recipient_reject_code", "soft_bounce"],
};

/** ConfigResponse.main as postconf -n prints it ("name = value", "name =" when empty). */
const asPostconfN = (main: Record<string, string>) => Object.entries(main).map(([k, v]) => (v === "" ? `${k} =` : `${k} = ${v}`)).join("\n") + "\n";
const lines = (text: string) => text.trim().split("\n");

/** What may change on the host while simulating: Postfix's trees (with mtimes) and the agent's temporary directory. */
const hostState = async (host: TestLabHost) => `${await postfixState(host)}\n${await mustSh(host, "ls -A /tmp; postconf multi_instance_directories")}`;

describe("config newInstance: the instance postmulti -e create would make", () => {
  let host: TestLabHost;
  withLabAgent({}, async (_lab, h) => {
    host = h;
  });

  let bare: ConfigResponse;
  let withSpec: ConfigResponse;

  it("on a host without multi-instance support yet: answered from a private copy, nothing on the host changes", async () => {
    const before = await hostState(host);
    bare = await config(host, { op: "config", instance: "postfix-out", dryRun: true, read: true, newInstance: { group: "mta" } });
    withSpec = await config(host, { op: "config", instance: "postfix-out", dryRun: true, read: true, newInstance: { group: "mta" }, set: OUT_SPEC });
    expect(bare.error).toBeUndefined();
    expect(withSpec.error).toBeUndefined();
    expect(await hostState(host)).toBe(before);
    expect((await sh(host, "test -e /etc/postfix-out || test -e /var/spool/postfix-out || test -e /var/lib/postfix-out")).exitCode).toBe(1);
    expect(bare).toMatchObject({ dryRun: true, changed: false, changes: [] });
    expect(bare.instance).toEqual({ name: "postfix-out", group: "mta", enabled: false, configDirectory: "/etc/postfix-out", primary: false });
    // What postmulti-script sets in a new instance, seen through the instance's own config directory.
    expect(bare.main).toMatchObject({
      config_directory: "/etc/postfix-out",
      queue_directory: "/var/spool/postfix-out",
      data_directory: "/var/lib/postfix-out",
      authorized_submit_users: "",
      master_service_disable: "inet",
      multi_instance_name: "postfix-out",
      multi_instance_group: "mta",
    });
    expect(bare.master!.some((l) => /^smtp +inet /.test(l))).toBe(true);
    // The spec against the new instance: what create already gives is no change; what it sets otherwise has its before.
    const byName = new Map(withSpec.changes.map((c) => [c.name, c]));
    expect(byName.has("queue_directory")).toBe(false);
    expect(byName.has("soft_bounce")).toBe(false);
    expect(byName.get("master_service_disable")).toEqual({ file: "main.cf", name: "master_service_disable", before: "inet", after: "" });
    expect(byName.get("authorized_submit_users")).toEqual({ file: "main.cf", name: "authorized_submit_users", before: "", after: "root" });
    expect(byName.get("unknown_local_recipient_reject_code")).toMatchObject({ before: "550", after: null });
    expect(byName.get("inet_interfaces")).toEqual({ file: "main.cf", name: "inet_interfaces", before: null, after: "loopback-only", defaultValue: "all" });
    expect(byName.get("smtp/inet")).toMatchObject({ before: "smtp inet n - y - - smtpd", after: null, kind: "entry" });
    expect(byName.get("127.0.0.1:10026/inet")).toMatchObject({ before: null, after: "127.0.0.1:10026 inet n - n - - smtpd", kind: "entry" });
  });

  it("is exactly what postmulti -I postfix-out -G mta -e create makes, and a real config then reports the same changes", async () => {
    await mustSh(host, "postmulti -e init && postmulti -I postfix-out -G mta -e create");
    expect(asPostconfN(bare.main!)).toBe(await mustSh(host, "postconf -c /etc/postfix-out -n"));
    expect(bare.master).toEqual(lines(await mustSh(host, "postconf -c /etc/postfix-out -M")));
    const real = await config(host, { op: "config", instance: "postfix-out", read: true, set: OUT_SPEC });
    expect(real.error).toBeUndefined();
    expect(real.changes).toEqual(withSpec.changes);
    expect(real.main).toEqual(withSpec.main);
    expect(real.master).toEqual(withSpec.master);
    expect(asPostconfN(withSpec.main!)).toBe(await mustSh(host, "postconf -c /etc/postfix-out -n"));
  });

  it("without a group, cloning the primary's shared install parameters it sets, next to existing instances", async () => {
    // postmulti-script copies the shared parameters the primary sets (else comments them out).
    await mustSh(host, "postconf -e html_directory=/usr/share/doc/postfix/html sample_directory=/usr/share/doc/postfix/examples");
    const before = await hostState(host);
    const sim = await config(host, { op: "config", instance: "postfix-spare", dryRun: true, read: true, newInstance: {}, set: { main: { html_directory: "/usr/share/doc/postfix/html", myhostname: "spare.example.net" } } });
    expect(sim.error).toBeUndefined();
    expect(await hostState(host)).toBe(before);
    expect(sim.instance).toMatchObject({ name: "postfix-spare", group: "-", configDirectory: "/etc/postfix-spare" });
    expect(sim.changes.map((c) => c.name)).toEqual(["myhostname"]);
    expect(sim.main!.multi_instance_group).toBeUndefined();
    await mustSh(host, "postmulti -I postfix-spare -e create");
    const real = await config(host, { op: "config", instance: "postfix-spare", read: true, set: { main: { html_directory: "/usr/share/doc/postfix/html", myhostname: "spare.example.net" } } });
    expect(real.changes).toEqual(sim.changes);
    expect(asPostconfN(sim.main!)).toBe(await mustSh(host, "postconf -c /etc/postfix-spare -n"));
    expect(sim.master).toEqual(lines(await mustSh(host, "postconf -c /etc/postfix-spare -M")));
  });

  it("keeps a config directory that already has main.cf and master.cf, as postmulti-script does", async () => {
    await mustSh(
      host,
      `mkdir -p /etc/postfix-left /var/spool/postfix-left /var/lib/postfix-left && cp /etc/postfix/master.cf.proto /etc/postfix-left/master.cf &&
       printf 'queue_directory = /var/spool/postfix-left\\ndata_directory = /var/lib/postfix-left\\nmyhostname = left.example.net\\n' > /etc/postfix-left/main.cf`,
    );
    const sim = await config(host, { op: "config", instance: "postfix-left", dryRun: true, read: true, newInstance: { group: "spare" }, set: { main: { myhostname: "left.example.net", master_service_disable: "inet" } } });
    expect(sim.error).toBeUndefined();
    // The kept main.cf has no master_service_disable: the create does not add one to it.
    expect(sim.changes).toEqual([{ file: "main.cf", name: "master_service_disable", before: null, after: "inet", defaultValue: "" }]);
    expect(sim.main).toMatchObject({ myhostname: "left.example.net", multi_instance_name: "postfix-left", multi_instance_group: "spare" });
    await mustSh(host, "postmulti -I postfix-left -G spare -e create");
    const real = await config(host, { op: "config", instance: "postfix-left", read: true, set: { main: { myhostname: "left.example.net", master_service_disable: "inet" } } });
    expect(real.changes).toEqual(sim.changes);
    expect(asPostconfN(sim.main!)).toBe(await mustSh(host, "postconf -c /etc/postfix-left -n"));
  });

  it("clones the shared parameters the host's postmulti-script lists, in its order", async () => {
    const script = await mustSh(host, "cat $(postconf -h daemon_directory)/postmulti-script");
    const listed = /^\s*SHARED_PARAMETERS="([^"]*)"/m.exec(script)![1]!;
    expect(listed.trim().split(/\s+/)).toEqual([...SHARED_PARAMETERS]);
  });

  it("an instance that exists is answered as without newInstance", async () => {
    const spec: ConfigSpec = { main: { myhostname: "out.example.net" } };
    const plain = await config(host, { op: "config", instance: "postfix-out", dryRun: true, set: spec });
    const flagged = await config(host, { op: "config", instance: "postfix-out", dryRun: true, set: spec, newInstance: { group: "other" } });
    expect(flagged).toEqual(plain);
    expect(plain.changes).toEqual([{ file: "main.cf", name: "myhostname", before: null, after: "out.example.net", defaultValue: expect.any(String) }]);
  });

  it("refuses what postmulti would refuse, with postmulti's text; only in dry runs", async () => {
    // Real postmulti prints its fatal errors on stderr only when that is a terminal.
    const fatalOf = async (cmd: string) => /postmulti: fatal: (.*)/.exec(await mustSh(host, `script -qec '${cmd}' /dev/null || true`))![1]!.trim();

    const badName = await config(host, { op: "config", instance: "left2", dryRun: true, newInstance: {} });
    expect(badName.error).toEqual({ message: await fatalOf("postmulti -I left2 -e create"), code: "usage" });

    // /etc/postfix-b is taken by an instance named otherwise.
    await mustSh(host, "postmulti -I postfix-a -e create config_directory=/etc/postfix-b");
    const taken = await config(host, { op: "config", instance: "postfix-b", dryRun: true, newInstance: {} });
    expect(taken.error).toEqual({ message: await fatalOf("postmulti -I postfix-b -e create"), code: "conflict" });
    expect(taken.error!.message).toMatch(/^new config_directory=\/etc\/postfix-b is already in use/);

    const real = await config(host, { op: "config", instance: "postfix-new", set: { main: { myhostname: "x" } }, newInstance: {} });
    expect(real.error).toMatchObject({ code: "usage", message: expect.stringMatching(/dry runs only/) });
    // Without newInstance an unknown instance stays unknown.
    const unknown = await config(host, { op: "config", instance: "postfix-new", dryRun: true });
    expect(unknown.error).toEqual({ message: "No instance named postfix-new", code: "not-found" });
    expect((await sh(host, "ls -d /etc/postfix-new /var/spool/postfix-new /var/lib/postfix-new /tmp/postfleet-new-instance-*")).stdout).toBe("");
  });
});
