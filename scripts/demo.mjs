#!/usr/bin/env node
// `npm run demo`: postfleet end to end on a local lab fleet.
//  1. `postfleet lab up 4 --mail-flow`: four real MTA hosts (sshd + Postfix +
//     Node.js) in Docker, each carrying mail: postfix-in :25 → a content filter
//     (postfix-filter) on 127.0.0.1:10025 → postfix-out on 10026 → a sink.
//  2. `postfleet ping`.
//  3. The MULTI_INSTANCE_README border MTA on every host with
//     playbooks/create-instances.yml: first `--check --diff` (the batch plan and
//     every change, nothing touched), then for real, then again (nothing changes).
//  4. `postfleet report`; playbooks/rolling-restart.yml (batches of 1, 10%, 25%,
//     each instance gated on its health, as it happens); `report` again.
//  5. Last act: the rolling restart again with `-e probe=true`: each host is
//     gated on a probe message crossing every hop of its chain to the sink.
//  6. `postfleet lab down` (also after a failure). `--keep` leaves the lab up.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(root, "dist", "cli.js");
const keep = process.argv.includes("--keep");
const dir = keep ? join(process.env.XDG_STATE_HOME || join(process.env.HOME || tmpdir(), ".local", "state"), "postfleet", "demo-lab") : mkdtempSync(join(tmpdir(), "postfleet-demo-"));
const inv = join(dir, "inventory.yml");
const started = Date.now();
const bold = (s) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[1m${s}\x1b[0m` : s);

function step(title) {
  process.stdout.write(`\n${bold(`== ${title}`)}\n`);
}

/** Run postfleet with these arguments (argv, no shell); stop the demo if it fails. */
function postfleet(args, { capture = false } = {}) {
  process.stdout.write(`$ postfleet ${args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ")}\n`);
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: ["ignore", capture ? "pipe" : "inherit", "inherit"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`postfleet ${args[0] === "-i" ? args[2] : args[0]} failed (exit ${r.status})`);
  return r.stdout;
}

const fleet = (...args) => postfleet(["-i", inv, ...args]);
const playbook = (name) => join(root, "playbooks", name);
const fleetOutput = (...args) => postfleet(["-i", inv, ...args], { capture: true });

let failed = false;
try {
  step("Start a lab of 4 MTA hosts that carry mail: postfix-in → content filter on 127.0.0.1:10025 → postfix-out on 10026 → a sink");
  process.stdout.write(`lab directory: ${dir}\n`);
  postfleet(["lab", "up", "4", "--mail-flow", "--dir", dir]);

  step("Reach every host: SSH with strict host keys, Node.js and Postfix versions");
  fleet("ping");

  step("The border MTA of MULTI_INSTANCE_README, declaratively: what would change (nothing is touched)");
  fleet("run", playbook("create-instances.yml"), "--check", "--diff");

  step("Now for real: null client on the primary, postfix-out and postfix-in in group mta, started output first, each gated");
  fleet("run", playbook("create-instances.yml"));

  step("Again: a converged fleet changes nothing");
  fleet("run", playbook("create-instances.yml"));

  step("The instances, fleet-wide");
  fleet("report");

  step("Rolling restart: batches of 1, 10%, 25%; stop in reverse order, start in order, each start gated on its health");
  fleet("run", playbook("rolling-restart.yml"));

  step("Report again");
  const report = JSON.parse(fleetOutput("report", "--format", "json"));
  const rows = report.instances ?? [];
  fleet("report");
  const bad = rows.filter((r) => !r.enabled || !r.running);
  if (rows.length !== 16 || bad.length) {
    throw new Error(`expected 4 enabled, running instances on each of 4 hosts; got ${rows.length} rows, not running: ${bad.map((r) => `${r.host}/${r.instance}`).join(", ")}`);
  }
  process.stdout.write(`\ndemo: ${rows.length} instances on 4 hosts are enabled and running.\n`);

  step("Last act: rolling restart gated on mail flowing: a probe into postfix-in on each host, followed through the filter and postfix-out to the sink");
  fleet("run", playbook("rolling-restart.yml"), "-e", "probe=true", "-v");
} catch (err) {
  failed = true;
  process.stderr.write(`\ndemo: FAILED: ${err.message}\n`);
} finally {
  if (keep && !failed) {
    process.stdout.write(`\nThe lab stays up (--keep). Inventory: ${inv}\nNext:\n  node dist/cli.js -i ${inv} run playbooks/rolling-restart.yml -e drain=true\n  node dist/cli.js -i ${inv} run playbooks/config-rollout.yml -e instance=postfix-out -e '{"main_cf": {"relayhost": "[127.0.0.1]:2599"}}'\n  node dist/cli.js -i ${inv} postmulti -g mta -p status\n  node dist/cli.js -i ${inv} report --format html -o fleet.html\n  node dist/cli.js lab down --dir ${dir}\n`);
  } else {
    step("Remove the lab");
    spawnSync(process.execPath, [cli, "lab", "down", "--dir", dir], { stdio: "inherit" });
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`demo: ${failed ? "failed" : "done"} in ${Math.round((Date.now() - started) / 1000)} s\n`);
}
process.exitCode = failed ? 1 : 0;
