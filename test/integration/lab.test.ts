// Proves the lab itself: real sshd with key auth and strict host keys, real
// Postfix, and the real postmulti as the reference the agent must match.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "../support/lab.js";
import { connect, exec } from "../support/ssh.js";

describe("lab hosts", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab(3);
  });
  afterAll(async () => {
    await lab?.stop();
  });

  const target = (i: number) => {
    const h = lab.hosts[i]!;
    return { address: h.address, port: h.port, user: lab.user, privateKeyPath: lab.privateKeyPath, hostKey: h.hostKey };
  };

  it("gives every host its own host key and a ready inventory", () => {
    expect(lab.hosts).toHaveLength(3);
    expect(new Set(lab.hosts.map((h) => h.hostKey)).size).toBe(3);
    expect(new Set(lab.hosts.map((h) => h.port)).size).toBe(3);
    for (const h of lab.hosts) expect(h.hostKey).toMatch(/^ssh-ed25519 AAAA/);
  });

  it("reaches all hosts over SSH with key auth and strict host keys, running the real postmulti and postconf", async () => {
    await Promise.all(
      lab.hosts.map(async (_, i) => {
        const c = await connect(target(i));
        try {
          const list = await exec(c, "postmulti -l");
          expect(list.exitCode).toBe(0);
          expect(list.stdout).toMatch(/^-\s+-\s+y\s+\/etc\/postfix\n$/);
          const version = await exec(c, "postconf -h mail_version");
          expect(version.exitCode).toBe(0);
          expect(version.stdout.trim()).toMatch(/^3\.7\.\d+$/);
        } finally {
          c.end();
        }
      }),
    );
  });

  it("runs the real postmulti life cycle: init, then create postfix-out in group mta", async () => {
    const c = await connect(target(0));
    try {
      expect((await exec(c, "postmulti -e init")).exitCode).toBe(0);
      const created = await exec(c, "postmulti -I postfix-out -G mta -e create");
      expect(created.exitCode).toBe(0);
      const list = await exec(c, "postmulti -l");
      expect(list.stdout.split("\n").filter(Boolean).map((l) => l.split(/\s+/))).toEqual([
        ["-", "-", "y", "/etc/postfix"],
        ["postfix-out", "mta", "n", "/etc/postfix-out"],
      ]);
      const primary = await exec(c, "postconf -h multi_instance_directories multi_instance_enable");
      expect(primary.stdout).toBe("/etc/postfix-out\nyes\n");
      const inst = await exec(
        c,
        "postconf -c /etc/postfix-out -h multi_instance_name multi_instance_group queue_directory data_directory master_service_disable",
      );
      expect(inst.stdout).toBe("postfix-out\nmta\n/var/spool/postfix-out\n/var/lib/postfix-out\ninet\n");
      const dirs = await exec(c, "stat -c '%n %U %a' /etc/postfix-out /var/spool/postfix-out /var/lib/postfix-out");
      expect(dirs.stdout).toBe("/etc/postfix-out root 755\n/var/spool/postfix-out root 755\n/var/lib/postfix-out postfix 700\n");
    } finally {
      c.end();
    }
  });

  it("refuses a host whose key differs from the expected one", async () => {
    const wrong = { ...target(1), hostKey: lab.hosts[2]!.hostKey };
    await expect(connect(wrong)).rejects.toThrow(/verification failed/i);
  });
});
