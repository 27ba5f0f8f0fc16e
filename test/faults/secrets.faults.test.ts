// Planted secrets: a become (sudo) password, stored as an Ansible Vault value,
// and the vault password. Every output the suite can observe is searched for
// them: stdout and stderr of every command (human, --json, -vvv), the run
// documents, report formats, the retry file, the process lists of the
// controller and the hosts while runs are in flight, and the environment of
// the processes postfleet starts on the hosts (agent, sudo, -x commands).
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startLab, type Lab } from "../support/lab.js";
import { writePlaybook } from "../support/playbook.js";
import { startController, type ControllerResult } from "../support/faults/controller.js";
import { recordCase } from "../support/faults/figures.js";
import { hostLeftovers } from "../support/faults/host-checks.js";
import { vaultedBecomeInventory } from "../support/faults/vault-inventory.js";

const run = promisify(execFile);
const BECOME = "pf-Become-9f3c1e7a";
const VAULT_PASSWORD = "pf-VaultPw-4b7d2a60";
const SECRETS = [BECOME, VAULT_PASSWORD];

describe("planted secrets never appear in any output", () => {
  let lab: Lab;
  let dir: string;
  let inv: string;
  let vaultFile: string;
  const seen: Array<{ where: string; text: string }> = [];

  beforeAll(async () => {
    lab = await startLab(2, { user: "ops", sudoPassword: BECOME });
    await Promise.all(lab.hosts.map((h) => h.exec("postmulti -e init && postmulti -I postfix-out -G mta -e create && postmulti -i postfix-out -e enable")));
    dir = mkdtempSync(join(tmpdir(), "postfleet-secrets-"));
    vaultFile = join(dir, "vault-pass");
    writeFileSync(vaultFile, `${VAULT_PASSWORD}\n`, { mode: 0o600 });
    inv = join(dir, "inv.yml");
    writeFileSync(
      inv,
      vaultedBecomeInventory(lab, {
        become: BECOME,
        vaultPassword: VAULT_PASSWORD,
        extraGroups: ["    dead:", "      hosts:", "        mta99:", "          ansible_host: 127.0.0.1", "          ansible_port: 1"],
      }),
    );
  });
  afterAll(async () => {
    await lab?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Run the CLI while sampling the process lists (controller, hosts) and the host processes' environments. */
  async function observed(label: string, args: string[]): Promise<ControllerResult> {
    // The default: each host's agent is kept between runs (the resident agent), so its memory, socket and records are covered too.
    const c = startController(["-i", inv, "--vault-password-file", vaultFile, ...args], { env: { HOME: join(lab.dir, "home"), XDG_STATE_HOME: join(lab.dir, "state"), POSTFLEET_AGENT_PERSIST: "300" } });
    let running = true;
    const sampler = (async () => {
      while (running) {
        const ps = await run("ps", ["-eo", "pid=,args="]).catch(() => ({ stdout: "" }));
        seen.push({ where: `${label}: controller process list`, text: ps.stdout });
        try {
          seen.push({ where: `${label}: controller environment`, text: readFileSync(`/proc/${c.pid}/environ`, "latin1") });
        } catch {
          /* gone */
        }
        for (const h of lab.hosts) {
          const r = await h.exec(
            "ps -eo pid=,args=; for p in $(pgrep -f '[c]js --serve|[s]udo |[s]leep 1'); do tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null; done",
          );
          seen.push({ where: `${label}: ${h.name} process list and environments`, text: r.stdout });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const r = await c.done;
    running = false;
    await sampler;
    seen.push({ where: `${label}: stdout`, text: r.stdout }, { where: `${label}: stderr`, text: r.stderr });
    return r;
  }

  it("ping, postmulti -x (printing its environment), a playbook with --retry, report formats, -vvv: no secret anywhere", async () => {
    const pb = writePlaybook(
      "secrets.yml",
      `- hosts: all
  steps:
    - instances: enabled
      postconf:
        main_cf:
          delay_warning_time: 7h
    - instances: enabled
      run: [sh, -c, "env; sleep 1"]
`,
    );
    const retry = join(dir, "secrets.retry");
    const runs: Array<[string, string[], number]> = [
      ["ping --json", ["--json", "-T", "15", "ping"], 3],
      ["ping -vvv", ["-vvv", "-T", "15", "ping"], 3],
      ["postmulti -x env", ["-l", "mta", "--json", "postmulti", "-x", "sh", "-c", "env; sleep 1"], 0],
      ["postmulti -x env (human)", ["-l", "mta", "-v", "postmulti", "-x", "env"], 0],
      ["run --retry-file --json", ["-T", "15", "run", pb, "--json", "--retry-file", retry], 3],
      ["run --diff -vv", ["-T", "15", "-l", "mta", "-vv", "run", pb, "--diff"], 0],
      ["report json", ["-l", "mta", "report", "--format", "json"], 0],
      ["report html", ["-l", "mta", "report", "--format", "html", "-o", join(dir, "report.html")], 0],
    ];
    const problems: string[] = [];
    for (const [label, args, exit] of runs) {
      const r = await observed(label, args);
      if (r.exitCode !== exit) problems.push(`${label}: exit ${r.exitCode}, expected ${exit}: ${r.stderr.slice(0, 400)}`);
    }
    seen.push({ where: "retry file", text: readFileSync(retry, "utf8") });
    seen.push({ where: "report.html", text: readFileSync(join(dir, "report.html"), "utf8") });
    // The agent's cache and anything postfleet left in the login user's home on the hosts.
    for (const h of lab.hosts) seen.push({ where: `${h.name}: files under ~ops and /run/postfleet`, text: (await h.exec("grep -rl -e pf-Become -e pf-VaultPw /home/ops /run/postfleet /tmp 2>/dev/null || true")).stdout });

    const found = seen.flatMap((s) => SECRETS.filter((x) => s.text.includes(x)).map((x) => `${s.where}: ${x === BECOME ? "become password" : "vault password"}`));
    const unique = [...new Set(found)];
    for (const f of readdirSync(join(lab.dir, "state", "postfleet", "resident"))) seen.push({ where: `controller's resident record ${f}`, text: readFileSync(join(lab.dir, "state", "postfleet", "resident", f), "utf8") });
    const leaked = (await Promise.all(lab.hosts.map((h) => hostLeftovers(h, { residentAllowed: true })))).flat();
    recordCase({ case: "secrets: become password and vault password planted", secrets: unique.length, leaked: leaked.length, details: [...problems, ...unique, ...leaked] });
    expect({ problems, unique, leaked, samples: seen.length > 20 }).toEqual({ problems: [], unique: [], leaked: [], samples: true });
  });
});
