// A non-root login user with sudo (password required), and a host reached
// only through a jump host: as many production fleets are set up.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonOf, postfleet } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";

const PASSWORD = "s3cret-Become-pw";

describe("postfleet with sudo and a jump host", () => {
  let lab: Lab;
  let inv: string;

  beforeAll(async () => {
    lab = await startLab(2, { user: "ops", sudoPassword: PASSWORD });
    const [edge, inner] = lab.hosts as [Lab["hosts"][0], Lab["hosts"][0]];
    const kh = join(lab.dir, "known_hosts.jump");
    const blob = (k: string) => k.split(" ").slice(0, 2).join(" ");
    writeFileSync(kh, `[127.0.0.1]:${edge.port} ${blob(edge.hostKey)}\n${inner.internalAddress} ${blob(inner.hostKey)}\n`);
    inv = join(lab.dir, "jump.yml");
    writeFileSync(
      inv,
      [
        "all:",
        "  vars:",
        "    ansible_user: ops",
        `    ansible_ssh_private_key_file: ${lab.privateKeyPath}`,
        `    postfleet_known_hosts_file: ${kh}`,
        "    ansible_become: true",
        `    ansible_become_password: ${PASSWORD}`,
        "  hosts:",
        "    edge01:",
        "      ansible_host: 127.0.0.1",
        `      ansible_port: ${edge.port}`,
        "    inner01:",
        `      ansible_host: ${inner.internalAddress}`,
        `      ansible_ssh_common_args: '-o ProxyJump=ops@127.0.0.1:${edge.port}'`,
        "",
      ].join("\n"),
    );
  });
  afterAll(async () => {
    await lab?.stop();
  });

  const run = (args: string[]) => postfleet(args, { env: { HOME: join(lab.dir, "home") } });

  it("logs in as ops, runs the agent as root through sudo, and reaches the inner host through the jump host", async () => {
    const r = await run(["-i", inv, "-vvv", "--json", "ping"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = jsonOf(r);
    expect(doc.hosts.map((h: any) => [h.host, h.status, h.data.user])).toEqual([
      ["edge01", "ok", "root"],
      ["inner01", "ok", "root"],
    ]);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it("changes root-owned configuration through sudo", async () => {
    const r = await run(["-i", inv, "--json", "postmulti", "-e", "init"]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    for (const h of lab.hosts) {
      expect((await h.exec("postconf -h multi_instance_enable")).stdout.trim()).toBe("yes");
    }
    // The agent lives in the login user's private directory, not root's.
    const dir = await lab.hosts[1]!.exec("stat -c '%U %a' /home/ops/.cache/postfleet");
    expect(dir.stdout.trim()).toBe("ops 700");
  });

  it("fails clearly, without the password, when sudo's password is wrong", async () => {
    const wrong = join(lab.dir, "wrong-pw.yml");
    writeFileSync(wrong, (await import("node:fs")).readFileSync(inv, "utf8").replace(PASSWORD, "not-the-password"));
    const r = await run(["-i", wrong, "-l", "edge01", "--json", "ping"]);
    expect(r.exitCode).toBe(2);
    const doc = jsonOf(r);
    expect(doc.hosts[0].error).toMatch(/sudo/i);
    expect(r.stdout + r.stderr).not.toContain("not-the-password");
  });

  it("under become, Node.js is looked up as root, never on the login user's PATH", async () => {
    const h = lab.hosts[0]!;
    // The login user's PATH starts with a directory of its own holding a `node` that leaves a mark.
    const setup = [
      "grep -q '^PermitUserEnvironment yes' /etc/ssh/sshd_config || echo 'PermitUserEnvironment yes' >> /etc/ssh/sshd_config",
      "kill -HUP $(cat /run/sshd.pid)",
      "mkdir -p /home/ops/bin",
      "printf '#!/bin/sh\\ntouch /tmp/login-path-node-ran\\nexec /usr/bin/node \"$@\"\\n' > /home/ops/bin/node",
      "chmod 755 /home/ops/bin/node",
      "echo PATH=/home/ops/bin:/usr/local/bin:/usr/bin:/bin > /home/ops/.ssh/environment",
      "chown -R ops: /home/ops/bin /home/ops/.ssh/environment",
      "rm -f /tmp/login-path-node-ran",
    ].join(" && ");
    expect((await h.exec(setup)).exitCode).toBe(0);
    try {
      // --agent-persist 0: Node.js must really start here (an earlier run's resident agent would start nothing).
      const asRoot = await run(["-i", inv, "-l", "edge01", "--agent-persist", "0", "--json", "ping"]);
      expect(asRoot.exitCode, asRoot.stderr).toBe(0);
      expect(jsonOf(asRoot).hosts[0].data.user).toBe("root");
      expect((await h.exec("test -e /tmp/login-path-node-ran")).exitCode, "the login user's node ran under become").not.toBe(0);
      // The same host without become does use the login user's PATH: the trap is live.
      const plain = join(lab.dir, "no-become.yml");
      writeFileSync(plain, (await import("node:fs")).readFileSync(inv, "utf8").replace("ansible_become: true", "ansible_become: false"));
      const asOps = await run(["-i", plain, "-l", "edge01", "--agent-persist", "0", "--json", "ping"]);
      expect(asOps.exitCode, asOps.stderr).toBe(0);
      expect((await h.exec("test -e /tmp/login-path-node-ran")).exitCode).toBe(0);
    } finally {
      await h.exec("rm -f /home/ops/.ssh/environment /tmp/login-path-node-ran");
    }
  });

  it("report without become: queues the login user cannot read are a problem, not zero messages; with become they are counted", async () => {
    const plain = join(lab.dir, "report-no-become.yml");
    writeFileSync(plain, (await import("node:fs")).readFileSync(inv, "utf8").replace("ansible_become: true", "ansible_become: false"));
    const asOps = await run(["-i", plain, "-l", "edge01", "--json", "report"]);
    expect(asOps.exitCode, asOps.stderr).toBe(0);
    const blind = jsonOf(asOps);
    expect(blind.problems.queuesUnreadable).toBeGreaterThanOrEqual(1);
    const primary = blind.instances.find((r: any) => r.instance === "-");
    expect(primary.queues).toBeNull();
    expect(primary.queueError).toMatch(/cannot read \/var\/spool\/postfix\/\w+ \(EACCES\).*uid \d+.*become/);
    expect(primary.problems).toContain(`queues not counted: ${primary.queueError}`);
    const withExit = await run(["-i", plain, "-l", "edge01", "report", "--exit-code"]);
    expect(withExit.exitCode).toBe(6);
    expect(withExit.stdout).toMatch(/whose queues could not be read/);

    const asRoot = jsonOf(await run(["-i", inv, "-l", "edge01", "--json", "report"]));
    expect(asRoot.problems.queuesUnreadable).toBe(0);
    expect(asRoot.instances.find((r: any) => r.instance === "-").queues).toMatchObject({ deferred: 0, active: 0 });
  });

  // known_hosts with the inner host's key written for the edge host: edge01's key "changed".
  const swapped = () => {
    const [edge, inner] = lab.hosts as [Lab["hosts"][0], Lab["hosts"][0]];
    const blob = (k: string) => k.split(" ").slice(0, 2).join(" ");
    const kh = join(lab.dir, "known_hosts.swapped");
    writeFileSync(kh, `[127.0.0.1]:${edge.port} ${blob(inner.hostKey)}\n${inner.internalAddress} ${blob(inner.hostKey)}\n`);
    return kh;
  };

  it("host key checking off and a changed key: one banner, the host marked in --json, and no become password sent", async () => {
    const inv2 = join(lab.dir, "changed-key.yml");
    writeFileSync(inv2, (await import("node:fs")).readFileSync(inv, "utf8").replace(/postfleet_known_hosts_file: .*/, `postfleet_known_hosts_file: ${swapped()}`));
    const r = await run(["-i", inv2, "-l", "edge01", "--host-key-checking", "off", "--json", "ping"]);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/host key checking is OFF for 1 of 1 host \(edge01\)/);
    expect(r.stderr.match(/host key checking is OFF/g)).toHaveLength(1);
    const doc = jsonOf(r);
    expect(doc.hostKeyCheckingOff).toEqual(["edge01"]);
    expect(doc.hosts[0].hostKey).toMatchObject({ verified: false, presented: "changed", fingerprint: expect.stringMatching(/^SHA256:/) });
    expect(doc.hosts[0].error).toMatch(/refusing to send the become password to edge01: its host key changed/);
    // Nor the secret of the resident agent an earlier run left there (it would stand in for the password).
    expect(doc.hosts[0].timings?.resident).toBeFalsy();
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
  });

  it("a target's host key checking does not reach its jump host: a changed bastion key is still refused", async () => {
    const inv3 = join(lab.dir, "jump-off.yml");
    const text = (await import("node:fs")).readFileSync(inv, "utf8").replace(/postfleet_known_hosts_file: .*/, `postfleet_known_hosts_file: ${swapped()}`);
    writeFileSync(inv3, text.replace("    inner01:\n", "    inner01:\n      postfleet_host_key_checking: 'off'\n"));
    const r = await run(["-i", inv3, "-l", "inner01", "--json", "ping"]);
    expect(r.exitCode, r.stderr).toBe(2); // a refused host key is a failure, not an unreachable host
    const doc = jsonOf(r);
    expect(doc.hosts[0].status).toBe("failed");
    expect(doc.hosts[0].error).toMatch(/host key for \[127\.0\.0\.1\]:\d+ has CHANGED/);
    expect(doc.hostKeyCheckingOff).toEqual(["inner01"]);
  });
});
