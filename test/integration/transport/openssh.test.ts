// The OpenSSH transport (postfleet_transport: openssh, --transport openssh)
// through the built CLI on 2 real lab hosts whose sshd presents CA-signed host
// keys and trusts a lab user CA (startLab certificates). The system's ssh runs
// with -F /dev/null and no ssh-agent (ansible_ssh_common_args, which this also
// exercises), so nothing of this machine's own ssh set-up takes part.
//  - strict checking with only an @cert-authority line: ping and postmulti -l work;
//  - an expired host certificate is refused as a host key failure, with ssh's reason;
//  - the same hosts reached with plain keys (the lab's known_hosts and authorized_keys):
//    ping, postmulti -l and a one-instance restart playbook give the same statuses
//    and documents of the same shape through ssh2 and openssh;
//  - host key checking off with a changed key: the same warning and the same hostKey in --json;
//  - the resident agent through openssh: a run leaves one, the next run reaches it through
//    the master's stream-local forward (timings.resident), ssh2 reaches the same one (the same
//    host key identity), `agent stop` ends it, and a run whose agent is gone starts a fresh one;
//  - a user certificate logs in where authorized_keys holds nothing (ssh2 cannot, and says to use openssh);
//    so does one named by CertificateFile in ssh_config, away from its key: ssh gets it (nothing of
//    postfleet's options hides it), ssh2 names it and the openssh transport in its refusal;
//  - a user certificate held by ssh-agent (no key file in the inventory) logs in through openssh;
//  - a wrong-principal host certificate is refused through openssh with ssh's reason.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installHostCertificate } from "../../../src/lab/certificates.js";
import { jsonOf, postfleet, type CliResult } from "../../support/cli.js";
import { startLab, type Lab } from "../../support/lab.js";
import { writePlaybook } from "../../support/playbook.js";

const ISOLATED_SSH = "-F /dev/null -o IdentityAgent=none -o GlobalKnownHostsFile=/dev/null";

const RESTART = writePlaybook(
  "restart.yml",
  `- name: restart the primary instance
  hosts: all
  steps:
    - name: restart it
      instances: enabled
      restart:
        healthy_timeout: 30s
`,
);

/** The document's shape: every key kept, every value replaced by its type (arrays element by element). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return typeof v;
}

/** What each host came to, in order. */
const statuses = (doc: any): string[] => doc.hosts.map((h: any) => `${h.host} ${h.status}`);

describe("openssh transport on a 2-host lab with certificates", { timeout: 240_000 }, () => {
  let lab: Lab;
  let caInventory: string; // only the @cert-authority line, strict, postfleet_transport: openssh
  let plainInventory: string; // the lab's own (plain host keys), ssh isolated, no transport set
  const run = (args: string[]): Promise<CliResult> => postfleet(args, { env: { HOME: join(lab.dir, "home"), SSH_AUTH_SOCK: "" } });

  beforeAll(async () => {
    lab = await startLab(2, { certificates: true });
    const hosts = lab.hosts.map((h) => `        ${h.name}:\n          ansible_host: ${h.address}\n          ansible_port: ${h.port}\n`).join("");
    caInventory = join(lab.dir, "ca.yml");
    writeFileSync(
      caInventory,
      `all:\n  vars:\n    ansible_user: ${lab.user}\n    ansible_ssh_private_key_file: ${lab.privateKeyPath}\n` +
        `    postfleet_known_hosts_file: ${lab.certificates!.knownHostsPath}\n    postfleet_host_key_checking: strict\n` +
        `    postfleet_transport: openssh\n    ansible_ssh_common_args: ${ISOLATED_SSH}\n  children:\n    mta:\n      hosts:\n${hosts}`,
    );
    plainInventory = join(lab.dir, "plain.yml");
    writeFileSync(plainInventory, readFileSync(lab.inventoryPath, "utf8").replace(/^  vars:\n/m, `  vars:\n    ansible_ssh_common_args: ${ISOLATED_SSH}\n`));
  }, 180_000);
  afterAll(async () => {
    await lab?.stop();
  });

  it("strict checking with only an @cert-authority line: ping and postmulti -l work through openssh, chosen by itself where no transport is set", async () => {
    const ping = await run(["-i", caInventory, "ping", "--json"]);
    const doc = jsonOf(ping);
    expect(ping.exitCode, ping.stderr).toBe(0);
    expect(statuses(doc)).toEqual(["mta01 ok", "mta02 ok"]);
    for (const h of doc.hosts) {
      expect(h.data.postfixVersion).toMatch(/^3\./);
      expect(h.timings.connectMs).toBeGreaterThan(0);
      expect(h.timings.agentMs).toBeGreaterThan(0);
    }
    const pm = await run(["-i", caInventory, "--json", "postmulti", "-l"]);
    expect(pm.exitCode, pm.stderr).toBe(0);
    const pmDoc = jsonOf(pm);
    expect(statuses(pmDoc)).toEqual(["mta01 ok", "mta02 ok"]);
    expect(pmDoc.hosts[0].stdout).toMatch(/^-\s+-\s+y\s+\/etc\/postfix\n$/);
    // No transport set, no ssh options: auto chooses openssh for hosts only a certificate vouches for, and says why.
    const autoInventory = join(lab.dir, "ca-auto.yml");
    writeFileSync(autoInventory, readFileSync(caInventory, "utf8").replace(/^    postfleet_transport: openssh\n/m, "").replace(/^    ansible_ssh_common_args: .*\n/m, ""));
    const auto = await run(["-i", autoInventory, "--json", "--agent-persist", "0", "ping"]);
    expect(auto.exitCode, auto.stderr).toBe(0);
    expect(jsonOf(auto).hosts.map((h: any) => [h.status, h.timings.transport, h.timings.transportBecause])).toEqual(
      lab.hosts.map((h) => ["ok", "openssh", `only an @cert-authority line vouches for [${h.address}]:${h.port} (${lab.certificates!.knownHostsPath}:1)`]),
    );
    // ssh2 set explicitly: refused, saying why and what auto would do.
    const ssh2 = await run(["-i", autoInventory, "--json", "--transport", "ssh2", "ping"]);
    expect(ssh2.exitCode).toBe(2);
    expect(jsonOf(ssh2).hosts[0].error).toMatch(/cannot negotiate certificate host keys.*auto, the default, chooses openssh for such a host\)$/);
  });

  it("an expired host certificate is refused as a host key failure, with ssh's reason", async () => {
    const h = lab.hosts[1]!;
    try {
      await installHostCertificate(lab.dir, lab.certificates!, h, { validity: "20200101:20200201" });
      const r = await run(["-i", caInventory, "-l", h.name, "ping", "--json"]);
      const doc = jsonOf(r);
      expect(r.exitCode).toBe(2);
      expect(doc.hosts[0].status).toBe("failed");
      expect(doc.hosts[0].error).toMatch(new RegExp(`^host key of ${h.name} \\(root@127\\.0\\.0\\.1:${h.port}\\) refused by ssh: .*Certificate invalid: expired.*Host key verification failed`));
    } finally {
      await installHostCertificate(lab.dir, lab.certificates!, h);
    }
  });

  it("plain keys: ping, postmulti -l and a one-instance restart give the same statuses and documents through ssh2 and openssh", async () => {
    const both = async (args: string[]) => {
      const ssh2 = await run(["-i", plainInventory, "--agent-persist", "0", "--transport", "ssh2", "--json", ...args]);
      const openssh = await run(["-i", plainInventory, "--agent-persist", "0", "--transport", "openssh", "--json", ...args]);
      expect(ssh2.exitCode, ssh2.stderr).toBe(0);
      expect(openssh.exitCode, openssh.stderr).toBe(0);
      expect(openssh.stderr).toBe("");
      return { ssh2: jsonOf(ssh2), openssh: jsonOf(openssh) };
    };
    const ping = await both(["ping"]);
    expect(ping.ssh2.hosts.map((h: any) => h.timings.transport)).toEqual(["ssh2", "ssh2"]);
    expect(ping.openssh.hosts.map((h: any) => h.timings.transport)).toEqual(["openssh", "openssh"]);
    expect(statuses(ping.openssh)).toEqual(statuses(ping.ssh2));
    expect(shape(ping.openssh)).toEqual(shape(ping.ssh2));
    expect(ping.openssh.hosts.map((h: any) => h.data.postfixVersion)).toEqual(ping.ssh2.hosts.map((h: any) => h.data.postfixVersion));

    const pm = await both(["postmulti", "-l"]);
    expect(statuses(pm.openssh)).toEqual(statuses(pm.ssh2));
    expect(shape(pm.openssh)).toEqual(shape(pm.ssh2));
    expect(pm.openssh.hosts.map((h: any) => h.stdout)).toEqual(pm.ssh2.hosts.map((h: any) => h.stdout));

    // Both runs find the instance running (a lab host's Postfix may not be yet): the same stop and start each.
    for (const h of lab.hosts) expect((await h.exec("postfix status || postfix start")).exitCode).toBe(0);
    const restart = await both(["run", RESTART]);
    expect(restart.openssh.summary).toEqual(restart.ssh2.summary);
    expect(restart.ssh2.summary).toMatchObject({ failed: 0, unreachable: 0 });
    expect(shape(restart.openssh)).toEqual(shape(restart.ssh2));
  });

  it("host key checking off and a changed key: both transports accept it, warn alike and mark it alike in the document", async () => {
    const [h1, h2] = [lab.hosts[0]!, lab.hosts[1]!];
    const wrongKh = join(lab.dir, "known_hosts.wrong");
    writeFileSync(wrongKh, `[${h1.address}]:${h1.port} ${h2.hostKey.split(" ").slice(0, 2).join(" ")}\n`);
    const inv = join(lab.dir, "wrong-kh.yml");
    writeFileSync(inv, readFileSync(plainInventory, "utf8").replace(lab.knownHostsPath, wrongKh));
    const args = ["-i", inv, "-l", h1.name, "--agent-persist", "0", "--host-key-checking", "off", "--json", "ping"];
    const ssh2 = await run(["--transport", "ssh2", ...args]);
    const openssh = await run(["--transport", "openssh", ...args]);
    expect(ssh2.exitCode, ssh2.stderr).toBe(0);
    expect(openssh.exitCode, openssh.stderr).toBe(0);
    expect(openssh.stderr).toBe(ssh2.stderr);
    expect(openssh.stderr).toMatch(/DOES NOT MATCH the known key; accepted because host key checking is off/);
    const [a, b] = [jsonOf(ssh2), jsonOf(openssh)];
    expect(b.hostKeyCheckingOff).toEqual([h1.name]);
    expect(b.hosts[0].hostKey).toEqual(a.hosts[0].hostKey);
    expect(b.hosts[0].hostKey).toMatchObject({ verified: false, presented: "changed", keyType: "ssh-ed25519" });
  });

  it("the resident agent through openssh: the next run reaches it (and ssh2 the same one), agent stop ends it, a gone one means a fresh agent", async () => {
    const h = lab.hosts[1]!;
    const at = (args: string[]) => run(["-i", plainInventory, "-l", h.name, "--json", ...args]);
    const resident = (r: CliResult) => {
      expect(r.exitCode, `${r.stderr}${r.stdout}`).toBe(0);
      const doc = jsonOf(r);
      expect(doc.hosts[0].status).toBe("ok");
      return doc.hosts[0].timings.resident === true;
    };
    /** The resident agents on the host (their own process name), by pid. */
    const residents = async () =>
      (await h.exec("ps -eo pid=,args= | grep '[p]ostfleet-agent (resident)' || true")).stdout.trim().split("\n").filter(Boolean).map((l) => l.trim().split(/\s+/)[0]!);
    /** The resident agent a run asked for listens (its Node.js start may outlast the run's 15 s wait on a loaded machine). */
    const listening = async () => {
      for (const until = Date.now() + 60_000; Date.now() < until; await new Promise((res) => setTimeout(res, 250))) {
        if ((await h.exec("test -S /run/postfleet/resident-0-as-0.sock")).exitCode === 0) return;
      }
      throw new Error(`no resident agent listens on ${h.name} 60 s after the run`);
    };
    // None left by the tests above: agent stop through openssh, then a run that starts a fresh agent and leaves one.
    expect((await at(["--transport", "openssh", "agent", "stop"])).exitCode).toBe(0);
    expect(resident(await at(["--transport", "openssh", "ping"]))).toBe(false);
    await listening();
    expect(resident(await at(["--transport", "openssh", "ping"]))).toBe(true);
    // ssh2 accepted the same host key: the same record, the same agent.
    expect(resident(await at(["--transport", "ssh2", "ping"]))).toBe(true);
    const [pid, ...more] = await residents();
    expect(more).toEqual([]);
    // A record whose agent is gone (killed here): the run starts a fresh agent, which leaves a new one...
    expect((await h.exec(["kill", pid!])).exitCode).toBe(0);
    expect(resident(await at(["--transport", "openssh", "ping"]))).toBe(false);
    await listening();
    // ...which `agent stop` through openssh ends.
    const stop = await at(["--transport", "openssh", "agent", "stop"]);
    expect(jsonOf(stop).hosts.map((x: any) => [x.status, x.message])).toEqual([["changed", "resident agent stopped"]]);
    await new Promise((res) => setTimeout(res, 500));
    expect(await residents()).toEqual([]);
  }, 480_000);

  it("a user certificate logs in where authorized_keys holds nothing: openssh presents it (chosen by itself where no transport is set), ssh2 cannot", async () => {
    const h = lab.hosts[0]!;
    expect((await h.exec("rm -f /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys")).exitCode).toBe(0);
    const openssh = await run(["-i", plainInventory, "-l", h.name, "--transport", "openssh", "ping", "--json"]);
    expect(openssh.exitCode, openssh.stderr).toBe(0);
    expect(statuses(jsonOf(openssh))).toEqual([`${h.name} ok`]);
    // The lab's own inventory: no transport, no ssh options, the key with its KEY-cert.pub beside it.
    const auto = await run(["-i", lab.inventoryPath, "-l", h.name, "--agent-persist", "0", "ping", "--json"]);
    expect(auto.exitCode, auto.stderr).toBe(0);
    expect(jsonOf(auto).hosts[0].timings).toMatchObject({ transport: "openssh", transportBecause: `ssh would present the user certificate ${lab.privateKeyPath}-cert.pub` });
    const ssh2 = await run(["-i", plainInventory, "-l", h.name, "--transport", "ssh2", "ping", "--json"]);
    expect(ssh2.exitCode).toBe(2);
    expect(jsonOf(ssh2).hosts[0].error).toMatch(/authentication failed .*not presented: the user certificate .*or use the openssh transport/);
  });

  it("CertificateFile in ssh_config, away from the key: openssh logs in with it, ssh2 names it and the openssh transport", async () => {
    const h = lab.hosts[0]!; // authorized_keys emptied by the test above: only the certificate logs in
    const bare = join(lab.dir, "bare_key");
    copyFileSync(lab.privateKeyPath, bare);
    chmodSync(bare, 0o600);
    const cert = join(lab.dir, "certs", "login-cert.pub");
    mkdirSync(join(lab.dir, "certs"), { recursive: true });
    copyFileSync(lab.certificates!.userCertificatePath, cert);
    // ~/.ssh/config for postfleet's own reader (HOME), and the same file for ssh through -F.
    const sshDir = join(lab.dir, "home", ".ssh");
    mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    const config = join(sshDir, "config");
    writeFileSync(config, `Host *\n  CertificateFile ${cert}\n  IdentityAgent none\n  GlobalKnownHostsFile /dev/null\n`, { mode: 0o600 });
    const inventory = (extra: string) => {
      const f = join(lab.dir, `certfile${extra ? "-openssh" : ""}.yml`);
      writeFileSync(
        f,
        readFileSync(lab.inventoryPath, "utf8").replace(lab.privateKeyPath, bare).replace(/^  vars:\n/m, `  vars:\n${extra}`),
      );
      return f;
    };
    const openssh = await run(["-i", inventory(`    ansible_ssh_common_args: -F ${config}\n    postfleet_transport: openssh\n`), "-l", h.name, "--json", "ping"]);
    expect(openssh.exitCode, openssh.stderr).toBe(0);
    expect(statuses(jsonOf(openssh))).toEqual([`${h.name} ok`]);
    const ssh2 = await run(["-i", inventory(""), "-l", h.name, "--transport", "ssh2", "--json", "ping"]);
    expect(ssh2.exitCode).toBe(2);
    expect(jsonOf(ssh2).hosts[0].error).toMatch(
      new RegExp(`^authentication failed .*tried: key ${bare}; not presented: the user certificate ${cert} .*or use the openssh transport`),
    );
  });

  it("a user certificate held by ssh-agent logs in through openssh (no key file in the inventory)", async () => {
    const h = lab.hosts[0]!; // authorized_keys emptied above: only the certificate logs in
    const sock = join(lab.dir, "agent.sock");
    const out = execFileSync("ssh-agent", ["-a", sock, "-s"], { encoding: "utf8" });
    const pid = /SSH_AGENT_PID=(\d+)/.exec(out)![1]!;
    try {
      // ssh-add loads KEY-cert.pub beside KEY with it.
      execFileSync("ssh-add", [lab.privateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
      expect(execFileSync("ssh-add", ["-l"], { env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: "utf8" })).toMatch(/ED25519-CERT/);
      const inv = join(lab.dir, "agent-cert.yml");
      writeFileSync(
        inv,
        readFileSync(lab.inventoryPath, "utf8")
          .replace(/^    ansible_ssh_private_key_file: .*\n/m, "")
          .replace(/^  vars:\n/m, "  vars:\n    ansible_ssh_common_args: -F /dev/null -o GlobalKnownHostsFile=/dev/null\n    postfleet_transport: openssh\n"),
      );
      const r = await postfleet(["-i", inv, "-l", h.name, "--agent-persist", "0", "--json", "ping"], { env: { HOME: join(lab.dir, "home"), SSH_AUTH_SOCK: sock } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(statuses(jsonOf(r))).toEqual([`${h.name} ok`]);
      // No transport and no ssh options set: auto asks the agent, finds the certificate and chooses openssh.
      const autoInv = join(lab.dir, "agent-cert-auto.yml");
      writeFileSync(autoInv, readFileSync(inv, "utf8").replace(/^    ansible_ssh_common_args: .*\n/m, "").replace(/^    postfleet_transport: openssh\n/m, ""));
      // A home of its own: the one above holds a CertificateFile, which would be the reason.
      const home = join(lab.dir, "home-agent");
      mkdirSync(home, { recursive: true });
      const auto = await postfleet(["-i", autoInv, "-l", h.name, "--agent-persist", "0", "--json", "ping"], { env: { HOME: home, SSH_AUTH_SOCK: sock } });
      expect(auto.exitCode, auto.stderr).toBe(0);
      expect(jsonOf(auto).hosts[0].timings).toMatchObject({ transport: "openssh", transportBecause: expect.stringMatching(/^ssh-agent holds a user certificate \(ssh-ed25519-cert-v01@openssh\.com /) });
    } finally {
      process.kill(Number(pid));
    }
  });

  it("a wrong-principal host certificate is refused through openssh, with ssh's reason", async () => {
    const h = lab.hosts[1]!;
    try {
      await installHostCertificate(lab.dir, lab.certificates!, h, { principals: ["mta99", "10.9.9.9"] });
      const r = await run(["-i", caInventory, "-l", h.name, "--agent-persist", "0", "ping", "--json"]);
      expect(r.exitCode).toBe(2);
      expect(jsonOf(r).hosts[0].error).toMatch(/^host key of .* refused by ssh: .*Certificate invalid: name is not a listed principal.*Host key verification failed/);
    } finally {
      await installHostCertificate(lab.dir, lab.certificates!, h);
    }
  });
});
