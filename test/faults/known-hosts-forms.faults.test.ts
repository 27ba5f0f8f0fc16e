// The ssh_config forms that choose which known_hosts a host's key is
// checked against (UserKnownHostsFile with %k, %h, %p, %r, ~ and ${VAR};
// HostKeyAlias; GlobalKnownHostsFile; UserKnownHostsFile none;
// KnownHostsCommand; CheckHostIP; a key under the bare address), on a real lab host, judged by the real
// OpenSSH client with the same config file. postfleet (ping, with a become
// password) must never accept a key ssh refuses, and must accept what ssh
// accepts. A wrongly accepted key is an impostor given the become password:
// it counts in the table's "accepted bad host keys".
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateUsableKeyPair } from "../../src/lab/keys.js";
import { startLab, type Lab, type TestLabHost } from "../support/lab.js";
import { docOf, startController } from "../support/faults/controller.js";
import { recordCase } from "../support/faults/figures.js";
import { hostLeftovers } from "../support/faults/host-checks.js";

const BECOME = "pf-Become-kh-5e1d90c2";

interface FormCase {
  name: string;
  /** ssh_config lines for the host, besides HostName, Port, User and IdentityFile. */
  lines: string[];
  /** known_hosts files to write (absolute path → content) before each client runs. */
  files: Record<string, string>;
  /** What ssh does with it (checked, so the case tests what it says). */
  ssh: "accepts" | "refuses";
}

describe("known_hosts forms of ssh_config: postfleet's verdict is ssh's", () => {
  let lab: Lab;
  let host: TestLabHost;
  let dir: string;
  let home: string;
  /** The same directory under ssh's `~` (the passwd home) and postfleet's (HOME): a link from one to the other. */
  let sharedReal: string;
  const tag = `postfleet-kh-forms-${process.pid}`;
  const tildeDir = `~/.cache/${tag}`;

  beforeAll(async () => {
    lab = await startLab(1, { user: "ops", sudoPassword: BECOME });
    host = lab.hosts[0]!;
    dir = mkdtempSync(join(tmpdir(), "postfleet-kh-forms-"));
    home = join(dir, "home");
    sharedReal = join(userInfo().homedir, ".cache", tag);
    mkdirSync(sharedReal, { recursive: true, mode: 0o700 });
    mkdirSync(join(home, ".cache"), { recursive: true });
    mkdirSync(join(home, ".ssh"), { mode: 0o700 });
    symlinkSync(sharedReal, join(home, ".cache", tag));
  });
  afterAll(async () => {
    await lab?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (sharedReal) rmSync(sharedReal, { recursive: true, force: true });
  });

  it("wrong keys under %k, HostKeyAlias, GlobalKnownHostsFile, KnownHostsCommand and no user file are refused; right keys under %h/%p/%r, ~, ${VAR}, %k and an alias are accepted", async () => {
    const addr = `[${host.address}]:${host.port}`;
    const right = host.hostKey.split(" ").slice(0, 2).join(" ");
    const wrong = generateUsableKeyPair("ed25519").public.split(/\s+/).slice(0, 2).join(" ");
    const shared = (rel: string) => join(sharedReal, rel);
    const cases: FormCase[] = [
      {
        name: "k-wrong",
        lines: [`UserKnownHostsFile ${tildeDir}/known_hosts.d/%k`, "StrictHostKeyChecking accept-new"],
        files: { [shared("known_hosts.d/kf-k-wrong")]: `${addr} ${wrong}\n` },
        ssh: "refuses",
      },
      {
        name: "k-right",
        lines: [`UserKnownHostsFile ${tildeDir}/known_hosts.d/%k`, "StrictHostKeyChecking yes"],
        files: { [shared("known_hosts.d/kf-k-right")]: `${addr} ${right}\n` },
        ssh: "accepts",
      },
      {
        // The address's own (right) entry does not count: ssh looks up the alias only.
        name: "alias-wrong",
        lines: ["HostKeyAlias Pinned-MX", `UserKnownHostsFile ${dir}/alias_kh`, "StrictHostKeyChecking accept-new"],
        files: { [join(dir, "alias_kh")]: `pinned-mx ${wrong}\n${addr} ${right}\n` },
        ssh: "refuses",
      },
      {
        name: "alias-right",
        lines: ["HostKeyAlias mx-two", `UserKnownHostsFile ${dir}/alias2_kh`, "StrictHostKeyChecking yes"],
        files: { [join(dir, "alias2_kh")]: `mx-two ${right}\n` },
        ssh: "accepts",
      },
      {
        name: "global-wrong",
        lines: [`GlobalKnownHostsFile ${dir}/global_kh`, `UserKnownHostsFile ${dir}/user_kh`, "StrictHostKeyChecking accept-new"],
        files: { [join(dir, "global_kh")]: `${addr} ${wrong}\n`, [join(dir, "user_kh")]: "" },
        ssh: "refuses",
      },
      {
        // No file to add a new key to: ssh refuses the host whatever StrictHostKeyChecking says.
        name: "none-new",
        lines: ["UserKnownHostsFile none", `GlobalKnownHostsFile ${dir}/empty_global_kh`, "StrictHostKeyChecking accept-new"],
        files: { [join(dir, "empty_global_kh")]: "" },
        ssh: "refuses",
      },
      {
        name: "command-wrong",
        lines: [`KnownHostsCommand /bin/echo ${addr} ${wrong}`, `UserKnownHostsFile ${dir}/cmd_kh`, "StrictHostKeyChecking accept-new"],
        files: { [join(dir, "cmd_kh")]: "" },
        ssh: "refuses",
      },
      {
        name: "hpr-right",
        lines: [`UserKnownHostsFile ${dir}/kh_%h_%p_%r`, "StrictHostKeyChecking yes"],
        files: { [join(dir, `kh_${host.address}_${host.port}_ops`)]: `${addr} ${right}\n` },
        ssh: "accepts",
      },
      {
        name: "tilde-right",
        lines: [`UserKnownHostsFile ${tildeDir}/tilde_kh`, "StrictHostKeyChecking yes"],
        files: { [shared("tilde_kh")]: `${addr} ${right}\n` },
        ssh: "accepts",
      },
      {
        name: "env-right",
        lines: ["UserKnownHostsFile ${POSTFLEET_KH_FORMS}/env_kh", "StrictHostKeyChecking yes"],
        files: { [join(dir, "env_kh")]: `${addr} ${right}\n` },
        ssh: "accepts",
      },
      {
        // Nothing under [address]:port: ssh also takes the same key recorded under the bare address.
        name: "bare-name-right",
        lines: [`UserKnownHostsFile ${dir}/bare_kh`, "StrictHostKeyChecking yes"],
        files: { [join(dir, "bare_kh")]: `${host.address} ${right}\n` },
        ssh: "accepts",
      },
      {
        // HostName is an address: ssh does not check it a second time, and postfleet need not refuse CheckHostIP.
        name: "checkhostip-address",
        lines: ["CheckHostIP yes", `UserKnownHostsFile ${dir}/ip_kh`, "StrictHostKeyChecking yes"],
        files: { [join(dir, "ip_kh")]: `${addr} ${right}\n` },
        ssh: "accepts",
      },
    ];
    const config = join(home, ".ssh", "config");
    writeFileSync(
      config,
      cases
        .map((c) =>
          [`Host kf-${c.name}`, `  HostName ${host.address}`, `  Port ${host.port}`, "  User ops", `  IdentityFile ${lab.privateKeyPath}`, "  IdentitiesOnly yes", ...c.lines.map((l) => `  ${l}`)].join(
            "\n",
          ),
        )
        .join("\n") + "\n",
      { mode: 0o600 },
    );
    const env = { HOME: home, POSTFLEET_KH_FORMS: dir };
    const prepare = () => {
      for (const c of cases)
        for (const [f, content] of Object.entries(c.files)) {
          mkdirSync(dirname(f), { recursive: true });
          writeFileSync(f, content);
        }
    };

    // postfleet: one run over every form (ping, with the become password).
    prepare();
    const inv = join(dir, "inv.yml");
    writeFileSync(
      inv,
      ["all:", "  vars:", "    ansible_become: true", `    ansible_become_password: ${BECOME}`, "  hosts:", ...cases.map((c) => `    kf-${c.name}: {}`), ""].join("\n"),
    );
    // ssh2 fixed: postfleet's own reading and checking is what is judged here (auto would hand the
    // KnownHostsCommand host to ssh itself, see test/unit/transport/transport-choice.test.ts).
    // At most 8 at once: every form is the same sshd, whose MaxStartups (10:30:100) drops some of
    // the connections beyond 10 still in their handshake.
    const r = await startController(["-i", inv, "--json", "-T", "15", "-f", "8", "--transport", "ssh2", "ping"], { env, limitMs: 120_000 }).done;
    const doc = docOf(r);
    const ours = new Map<string, { accepted: boolean; error: string }>(
      (doc?.hosts ?? []).map((h: any) => [h.host, { accepted: h.status === "ok", error: String(h.error ?? "") }]),
    );
    const wrongKeyFileAfter = readFileSync(shared("known_hosts.d/kf-k-wrong"), "utf8");

    // ssh: the same config file, each form on its own, from the same files.
    const theirs = new Map<string, { accepted: boolean; stderr: string }>();
    for (const c of cases) {
      prepare();
      const s = spawnSync("ssh", ["-F", config, "-o", "BatchMode=yes", "-o", "ConnectTimeout=15", `kf-${c.name}`, "true"], {
        env: { ...process.env, ...env, SSH_AUTH_SOCK: "" },
        encoding: "utf8",
        timeout: 30_000,
      });
      theirs.set(c.name, { accepted: s.status === 0, stderr: s.stderr });
    }

    const leaked = await hostLeftovers(host);
    const all: string[] = [];
    for (const c of cases) {
      const t = theirs.get(c.name)!;
      const o = ours.get(`kf-${c.name}`);
      const details: string[] = [];
      if (!o) details.push(`postfleet reported nothing for kf-${c.name} (exit ${r.exitCode}): ${r.stderr.slice(0, 500)}`);
      if (t.accepted !== (c.ssh === "accepts")) details.push(`ssh ${t.accepted ? "accepted" : "refused"} it, the case expects ssh to ${c.ssh.replace(/s$/, "")}: ${t.stderr.slice(-600)}`);
      if (!t.accepted && !/Host key verification failed|HOST IDENTIFICATION HAS CHANGED|host key/i.test(t.stderr)) details.push(`ssh refused for another reason: ${t.stderr.slice(-600)}`);
      const bad = !!o && o.accepted && !t.accepted;
      if (bad) details.push("postfleet accepted a host key ssh refuses (and sent it the become password)");
      if (o && !o.accepted && t.accepted) details.push(`postfleet refused a host key ssh accepts: ${o.error}`);
      if (o && !o.accepted && !t.accepted && !/host key|known_hosts|KnownHostsCommand|ssh_config|config/i.test(o.error)) details.push(`postfleet refused without saying why: ${o.error}`);
      recordCase({ case: `known_hosts form: ${c.name}`, badKeysAccepted: bad ? 1 : 0, leaked: c === cases[0] ? leaked.length : 0, details: c === cases[0] ? [...details, ...leaked] : details });
      all.push(...details.map((d) => `${c.name}: ${d}`));
    }
    expect(all, `stderr: ${r.stderr.slice(0, 3000)}`).toEqual([]);
    expect(leaked).toEqual([]);
    // accept-new over the wrong key pinned in the %k file added nothing to it.
    expect(wrongKeyFileAfter).toBe(`${addr} ${wrong}\n`);
    expect(r.stderr).not.toMatch(/added host key to .*kf-k-wrong/);
  });
});
