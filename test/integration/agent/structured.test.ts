// The agent's structured mode on a real lab host: JSON results, idempotent
// life-cycle actions, precise conflicts that change nothing, and a dry-run
// that leaves the file tree untouched.
import { describe, expect, it } from "vitest";
import type { TestLabHost } from "../../support/lab.js";
import { AGENT, agentJson, mustSh, sh, snapshotTree, withLabAgent } from "../../support/agent-on-host.js";

describe("agent structured mode (--json, --dry-run)", () => {
  let host: TestLabHost;
  withLabAgent({}, async (_lab, h) => {
    host = h;
  });

  it("answers -l with one result per instance and postmulti's listing", async () => {
    const r = await agentJson(host, ["-l"]);
    expect(r).toMatchObject({ op: "postmulti", exitCode: 0, dryRun: false, changed: false, warnings: [] });
    expect(r.results).toEqual([
      expect.objectContaining({ name: "-", group: "-", enabled: true, configDirectory: "/etc/postfix", primary: true, command: null }),
    ]);
    expect(r.stdout).toBe("-               -               y         /etc/postfix\n");
  });

  it("reports a fatal error as postmulti's text with a machine code and exit status 1", async () => {
    const r = await agentJson(host, ["-l", "-p"]);
    expect(r.exitCode).toBe(1);
    expect(r.processExit).toBe(1);
    expect(r.error).toEqual({ message: "Specify exactly one of '-e', '-l', '-p', '-x'", code: "usage" });
    const missing = await agentJson(host, ["-e", "enable", "-i", "postfix-nope"]);
    expect(missing.error?.code).toBe("not-found");
  });

  it("dry-run of init and create reports the effects and leaves the file tree unchanged", async () => {
    const before = await snapshotTree(host);
    const init = await agentJson(host, ["-e", "init"], ["--dry-run"]);
    expect(init.dryRun).toBe(true);
    expect(init.effects).toContainEqual({
      kind: "set-parameter",
      file: "/etc/postfix/main.cf",
      name: "multi_instance_enable",
      from: "no",
      to: "yes",
    });
    await mustSh(host, `node ${AGENT} -e init`);
    const mid = await snapshotTree(host);
    const create = await agentJson(host, ["-I", "postfix-out", "-G", "mta", "-e", "create"], ["--dry-run"]);
    expect(create.exitCode).toBe(0);
    expect(create.changed).toBe(true);
    expect(create.effects).toEqual(
      expect.arrayContaining([
        { kind: "create-directory", path: "/etc/postfix-out", owner: "root", mode: "0755" },
        { kind: "create-directory", path: "/var/spool/postfix-out", owner: "root", mode: "0755" },
        { kind: "write-file", path: "/etc/postfix-out/main.cf" },
        { kind: "set-parameter", file: "/etc/postfix-out/main.cf", name: "multi_instance_group", from: null, to: "mta" },
        { kind: "set-parameter", file: "/etc/postfix/main.cf", name: "multi_instance_directories", from: "", to: "/etc/postfix-out" },
      ]),
    );
    expect(await snapshotTree(host)).toBe(mid);
    expect(mid).not.toBe(before); // the real init in between did change main.cf
    // Plain --dry-run prints the same plan for people.
    const plain = await sh(host, `node ${AGENT} --dry-run -I postfix-out -e create`);
    expect(plain.stdout).toContain("/etc/postfix-out: would write /etc/postfix-out/master.cf");
    expect(await snapshotTree(host)).toBe(mid);
  });

  it("create, then create again: changed, then ok and not changed", async () => {
    const first = await agentJson(host, ["-I", "postfix-out", "-G", "mta", "-e", "create"]);
    expect(first).toMatchObject({ exitCode: 0, changed: true });
    expect(first.results[0]).toMatchObject({ name: "postfix-out", group: "mta", configDirectory: "/etc/postfix-out", exitCode: 0 });
    expect(first.results[0]!.command).toEqual(["/usr/lib/postfix/sbin/postmulti-script", "-e", "create"]);
    expect(await mustSh(host, "postconf -h multi_instance_directories")).toBe("/etc/postfix-out\n");

    const tree = await snapshotTree(host);
    const again = await agentJson(host, ["-I", "postfix-out", "-G", "mta", "-e", "create"]);
    expect(again).toMatchObject({ exitCode: 0, changed: false });
    expect(again.results[0]!.skipped).toMatch(/already exists/);
    expect(await snapshotTree(host)).toBe(tree);

    // The plain postmulti mode keeps postmulti's error.
    const plain = await sh(host, `node ${AGENT} -I postfix-out -G mta -e create`);
    expect(plain.exitCode).toBe(1);
    expect(plain.stderr).toContain(
      "postmulti: fatal: new config_directory=/etc/postfix-out is already in use by instance /etc/postfix-out, config_directory=/etc/postfix-out",
    );
  });

  it("create of an existing instance with other settings fails with the precise reason and changes nothing", async () => {
    const tree = await snapshotTree(host);
    const r = await agentJson(host, ["-I", "postfix-out", "-G", "msa", "-e", "create"]);
    expect(r.exitCode).toBe(1);
    expect(r.error).toEqual({
      code: "conflict",
      message: "instance /etc/postfix-out already exists with different settings: multi_instance_group is 'mta', not 'msa'",
    });
    const q = await agentJson(host, ["-I", "postfix-out", "-G", "mta", "-e", "create", "queue_directory=/var/spool/elsewhere"]);
    expect(q.error?.message).toContain("queue_directory is '/var/spool/postfix-out', not '/var/spool/elsewhere'");
    expect(await snapshotTree(host)).toBe(tree);
  });

  it("enable twice and assign to the current values: ok, not changed the second time", async () => {
    const on = await agentJson(host, ["-e", "enable", "-i", "out"]);
    expect(on).toMatchObject({ exitCode: 0, changed: true });
    expect(on.results[0]!.enabled).toBe(true);
    expect(await mustSh(host, "postconf -c /etc/postfix-out -h multi_instance_enable")).toBe("yes\n");
    const tree = await snapshotTree(host);
    const again = await agentJson(host, ["-e", "enable", "-i", "out"]);
    expect(again).toMatchObject({ exitCode: 0, changed: false });
    expect(again.results[0]!.skipped).toBe("already enabled");
    const assign = await agentJson(host, ["-e", "assign", "-i", "postfix-out", "-I", "postfix-out", "-G", "mta"]);
    expect(assign).toMatchObject({ exitCode: 0, changed: false });
    const init = await agentJson(host, ["-e", "init"]);
    expect(init).toMatchObject({ exitCode: 0, changed: false });
    expect(await snapshotTree(host)).toBe(tree);
  });

  it("refuses to destroy an enabled instance, then destroys it when disabled; destroying it again is done", async () => {
    const refused = await agentJson(host, ["-e", "destroy", "-i", "postfix-out"]);
    expect(refused.error).toEqual({ message: "Cannot remove enabled instances", code: "conflict" });
    expect((await agentJson(host, ["-e", "disable", "-i", "postfix-out"])).changed).toBe(true);
    const dry = await agentJson(host, ["-e", "destroy", "-i", "postfix-out"], ["--dry-run"]);
    expect(dry.effects).toContainEqual({ kind: "remove", path: "/etc/postfix-out" });
    const gone = await agentJson(host, ["-e", "destroy", "-i", "postfix-out"]);
    expect(gone).toMatchObject({ exitCode: 0, changed: true, warnings: [] });
    expect((await sh(host, "test -e /etc/postfix-out || test -e /var/spool/postfix-out")).exitCode).not.toBe(0);
    const again = await agentJson(host, ["-e", "destroy", "-i", "postfix-out"]);
    expect(again).toMatchObject({ exitCode: 0, changed: false });
  });

  it("runs -x per instance with captured output, and reports whether the instance's configuration changed", async () => {
    await mustSh(host, `node ${AGENT} -I postfix-in -G mta -e create`);
    const r = await agentJson(host, ["-g", "mta", "-x", "postconf", "-e", "smtpd_banner=in"]);
    expect(r.results).toHaveLength(1);
    expect(r.results[0]).toMatchObject({ name: "postfix-in", exitCode: 0, changed: true, command: ["postconf", "-e", "smtpd_banner=in"] });
    const same = await agentJson(host, ["-g", "mta", "-x", "postconf", "-e", "smtpd_banner=in"]);
    expect(same.results[0]!.changed).toBe(false);
    // Dry run of postconf -e/-X: each parameter's current and new value, per instance, nothing written.
    const tree = await snapshotTree(host);
    const dry = await agentJson(host, ["-x", "postconf", "-e", "smtpd_banner=in", "relayhost = [smtp.example]:587"], ["--dry-run"]);
    // "from" is what main.cf sets now (Debian's main.cf sets smtpd_banner and an empty relayhost), null when unset.
    const explicit = async (dir: string, name: string) => {
      const line = (await mustSh(host, `postconf -c ${dir} -n`)).split("\n").find((l) => l.startsWith(`${name} =`));
      return line === undefined ? null : line.slice(name.length + 2).trim();
    };
    expect(await explicit("/etc/postfix", "smtpd_banner")).toMatch(/ESMTP/);
    expect(await explicit("/etc/postfix-in", "smtpd_banner")).toBe("in");
    const expected = [];
    for (const dir of ["/etc/postfix", "/etc/postfix-in"])
      expected.push([
        dir,
        true,
        [
          { kind: "set-parameter", file: `${dir}/main.cf`, name: "smtpd_banner", from: await explicit(dir, "smtpd_banner"), to: "in" },
          { kind: "set-parameter", file: `${dir}/main.cf`, name: "relayhost", from: await explicit(dir, "relayhost"), to: "[smtp.example]:587" },
        ],
      ]);
    expect(dry.results.map((x) => [x.configDirectory, x.changed, x.effects?.slice(1)])).toEqual(expected);
    expect(dry.results[0]!.effects?.[0]).toMatchObject({ kind: "run", argv: ["postconf", "-e", "smtpd_banner=in", "relayhost = [smtp.example]:587"] });
    const removal = await agentJson(host, ["-i", "postfix-in", "-x", "postconf", "-X", "smtpd_banner"], ["--dry-run"]);
    expect(removal.results[0]).toMatchObject({ changed: true });
    expect(removal.results[0]!.effects?.[1]).toEqual({ kind: "set-parameter", file: "/etc/postfix-in/main.cf", name: "smtpd_banner", from: "in", to: null });
    const unchanged = await agentJson(host, ["-i", "postfix-in", "-x", "postconf", "-c", "/etc/postfix-in", "-e", "smtpd_banner=in"], ["--dry-run"]);
    expect(unchanged.results[0]).toMatchObject({ changed: false });
    const other = await agentJson(host, ["-i", "postfix-in", "-x", "postconf", "-n"], ["--dry-run"]);
    expect(other.results[0]!.effects?.map((e) => e.kind)).toEqual(["run"]);
    expect(await snapshotTree(host)).toBe(tree);

    const show = await agentJson(host, ["-x", "sh", "-c", "echo $MAIL_CONFIG; echo oops >&2; exit 3"]);
    expect(show.exitCode).toBe(1);
    expect(show.results.map((x) => [x.stdout, x.stderr, x.exitCode])).toEqual([
      ["/etc/postfix\n", "oops\n", 3],
      ["/etc/postfix-in\n", "oops\n", 3],
    ]);
  });
  it("destroy reports as warnings exactly what it left behind (no guesses)", async () => {
    await mustSh(host, `node ${AGENT} -e init && node ${AGENT} -I postfix-left -e create`);
    await mustSh(host, "echo x > /var/spool/postfix-left/hold/ABC && echo 'a b' > /etc/postfix-left/access");
    const r = await agentJson(host, ["-e", "destroy", "-i", "postfix-left"]);
    expect(r).toMatchObject({ exitCode: 0, changed: true });
    expect(r.warnings).toEqual([
      "/var/spool/postfix-left/hold: please verify contents and remove by hand",
      "/var/spool/postfix-left: please verify contents and remove by hand",
      "/etc/postfix-left: please verify contents and remove by hand",
    ]);
    expect((await sh(host, "test -e /var/lib/postfix-left || test -e /var/spool/postfix-left/active")).exitCode).not.toBe(0);
  });
});
