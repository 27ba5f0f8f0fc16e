// sudo (become) as a non-root login user, with a password and without one
// (NOPASSWD). The password never shows in argv, output or errors.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BecomeError, openHost, type HostSession } from "../../../src/transport/index.js";
import { startLab, type Lab } from "../../support/lab.js";
import { isolated, labTarget, rejection, removeFakeAgents, writeFakeAgent } from "../../support/transport.js";

const PASSWORD = "pa ss'w\"rd;$(touch /tmp/pwned)";

describe("become (sudo) as a non-root login user", () => {
  let withPassword: Lab;
  let noPassword: Lab;
  const sessions: HostSession[] = [];
  const open = async (lab: Lab, extra = {}) => {
    const s = await openHost(labTarget(lab, 0, { become: true, ...extra }), isolated);
    sessions.push(s);
    return s;
  };
  beforeAll(async () => {
    [withPassword, noPassword] = await Promise.all([
      startLab(1, { user: "ops", sudoPassword: PASSWORD }),
      startLab(1, { user: "ops", prefix: "nopw" }),
    ]);
  });
  afterAll(async () => {
    removeFakeAgents();
    await Promise.allSettled(sessions.map((s) => s.close()));
    await Promise.allSettled([withPassword?.stop(), noPassword?.stop()]);
  });

  it("runs commands as root with the sudo password, the command's stdin intact, repeatedly", async () => {
    const s = await open(withPassword, { becomePassword: PASSWORD });
    expect((await s.exec(["id", "-un"])).stdout).toBe("ops\n");
    for (let i = 0; i < 2; i++) {
      const r = await s.exec(["id", "-u"], { become: true });
      expect(r).toMatchObject({ exitCode: 0, stdout: "0\n" });
      const cat = await s.exec(["cat"], { become: true, stdin: "only this\n" });
      expect(cat.stdout).toBe("only this\n");
      expect(cat.stderr).toBe("");
    }
    const other = await openHost(labTarget(withPassword, 0, { become: true, becomePassword: PASSWORD, becomeUser: "postfix" }), isolated);
    sessions.push(other);
    expect((await other.exec(["id", "-un"], { become: true })).stdout).toBe("postfix\n");
    expect((await withPassword.hosts[0]!.exec("ls /tmp/pwned 2>/dev/null | wc -l")).stdout.trim()).toBe("0");
  });

  it("fails clearly when sudo wants a password and none is given, or a wrong one", async () => {
    const none = await open(withPassword);
    const e = await rejection(none.exec(["id", "-u"], { become: true }));
    expect(e).toBeInstanceOf(BecomeError);
    expect(e.message).toMatch(/requires a password for ops to become root; set ansible_become_password/);

    const wrong = await open(withPassword, { becomePassword: "not-the-password" });
    const e2 = await rejection(wrong.exec(["id", "-u"], { become: true }));
    expect(e2).toBeInstanceOf(BecomeError);
    expect(e2.message).toMatch(/incorrect password/);
    expect(e2.message).not.toContain("not-the-password");
  });

  it("runs the agent through sudo: pushed to the login user's cache, running as root, password not in any argv", async () => {
    const s = await open(withPassword, { becomePassword: PASSWORD });
    const agent = await s.startAgent(writeFakeAgent("become"));
    const pushed = s.agentOnHost!;
    expect(pushed.uploaded).toBe(true);
    expect(pushed.remotePath).toMatch(/^\/home\/ops\/\.cache\/postfleet\/agent-[0-9a-f]{64}\.cjs$/);
    const host = withPassword.hosts[0]!;
    expect((await host.exec(["stat", "-c", "%a %U", "/home/ops/.cache/postfleet"])).stdout.trim()).toBe("700 ops");
    try {
      expect(agent.hello.uid).toBe(0);
      const ps = await host.exec("ps -eo args 2>/dev/null || cat /proc/[0-9]*/cmdline | tr '\\0' ' '");
      expect(ps.stdout).toContain("--serve");
      expect(ps.stdout).not.toContain("pa ss");
      expect((await agent.request({ op: "postmulti", args: ["-l"] })).results[0]!.command).toEqual(["-l"]);
    } finally {
      await agent.close();
    }
  });

  it("under become root verifies the login user's cache itself: parents not the login user's are refused; a non-root become user is told clearly", async () => {
    const host = withPassword.hosts[0]!;
    const bundle = writeFakeAgent("become-parents");
    const s = await open(withPassword, { becomePassword: PASSWORD });
    await (await s.startAgent(bundle)).close();
    await host.exec("chown postfix /home/ops/.cache");
    try {
      const e = await rejection(s.startAgent(bundle));
      expect(e.message).toMatch(/refusing the agent cache on mta01: \/home\/ops\/\.cache is owned by uid \d+, not by the login user \(uid 1000\)/);
    } finally {
      await host.exec("chown ops /home/ops/.cache");
    }
    const asPostfix = await open(withPassword, { becomePassword: PASSWORD, becomeUser: "postfix" });
    const e = await rejection(asPostfix.startAgent(bundle));
    expect(e.message).toMatch(/the become user \(uid \d+\) on mta01 cannot read the login user's private agent cache/);
    expect(e.message).not.toMatch(/sha256|tamper/);
  });

  it("uses sudo -n with NOPASSWD sudo", async () => {
    const s = await open(noPassword);
    expect((await s.exec(["id", "-u"], { become: true })).stdout).toBe("0\n");
    const agent = await s.startAgent(writeFakeAgent("nopw"));
    expect(agent.hello.uid).toBe(0);
    await agent.close();
  });
});
