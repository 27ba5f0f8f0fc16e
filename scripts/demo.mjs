#!/usr/bin/env node
// `npm run demo`: postfleet end to end on a local lab fleet.
//  1. `postfleet lab up 4`: four real MTA hosts (sshd + Postfix + Node.js) in Docker.
//  2. `postfleet ping`.
//  3. The MULTI_INSTANCE_README border MTA on every host, with postfleet postmulti:
//     null client on the primary, `-e init`, postfix-out and postfix-in in group
//     mta configured with `-x postconf -e`, enabled, started (output before input).
//  4. `postfleet report`; a fleet-wide ordered stop and start; `report` again.
//  5. `postfleet lab down` (also after a failure). `--keep` leaves the lab up.
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
const fleetOutput = (...args) => postfleet(["-i", inv, ...args], { capture: true });

let failed = false;
try {
  step("Start a lab of 4 MTA hosts");
  process.stdout.write(`lab directory: ${dir}\n`);
  postfleet(["lab", "up", "4", "--dir", dir]);

  step("Reach every host: SSH with strict host keys, Node.js and Postfix versions");
  fleet("ping");

  step("Null client on the primary instance (MULTI_INSTANCE_README)");
  fleet("postmulti", "-i", "-", "-x", "postconf", "-e",
    "master_service_disable = inet", "mydestination =", "local_transport = error:5.1.1 Mailbox unavailable",
    "alias_maps =", "alias_database =", "local_recipient_maps =", "relayhost = [mailhub.example.com]");

  step("Enable multi-instance support, create postfix-out in group mta");
  fleet("postmulti", "-e", "init");
  fleet("postmulti", "-I", "postfix-out", "-G", "mta", "-e", "create");
  fleet("postmulti", "-i", "postfix-out", "-x", "postconf", "-MX", "smtp/inet");
  fleet("postmulti", "-i", "postfix-out", "-x", "postconf", "-M", "127.0.0.1:10026/inet=127.0.0.1:10026 inet n - n - - smtpd");
  fleet("postmulti", "-i", "postfix-out", "-x", "postconf", "-e",
    "inet_interfaces = loopback-only", "mynetworks_style = host", "smtpd_authorized_xforward_hosts = $mynetworks",
    "mydestination =", "local_transport = error:5.1.1 Mailbox unavailable", "smtpd_relay_restrictions =",
    "smtpd_recipient_restrictions = permit_mynetworks, reject", "relay_domains = example.com, .example.com",
    "master_service_disable =", "authorized_submit_users = root");
  fleet("postmulti", "-i", "postfix-out", "-e", "enable");
  fleet("postmulti", "-i", "postfix-out", "-p", "start");

  step("Create, configure, enable and start postfix-in (after postfix-out)");
  fleet("postmulti", "-I", "postfix-in", "-G", "mta", "-e", "create");
  fleet("postmulti", "-i", "postfix-in", "-x", "postconf", "-e",
    "inet_interfaces = 127.0.0.1", "mydestination =", "local_transport = error:5.1.1 Mailbox unavailable",
    "default_transport = smtp:[127.0.0.1]:10025", "relay_transport = $default_transport",
    "smtp_send_xforward_command = yes", "master_service_disable =", "authorized_submit_users = root");
  fleet("postmulti", "-i", "postfix-in", "-e", "enable");
  fleet("postmulti", "-i", "postfix-in", "-p", "start");

  step("The instances, fleet-wide");
  fleet("postmulti", "-l");
  fleet("report");

  step("Fleet-wide ordered stop (postfix-in, postfix-out, primary) and start (reverse)");
  fleet("postmulti", "-p", "stop");
  fleet("postmulti", "-p", "start");

  step("Report again");
  const report = JSON.parse(fleetOutput("report", "--format", "json"));
  const rows = report.instances ?? [];
  fleet("report");
  const bad = rows.filter((r) => !r.enabled || !r.running);
  if (rows.length !== 12 || bad.length) {
    throw new Error(`expected 3 enabled, running instances on each of 4 hosts; got ${rows.length} rows, not running: ${bad.map((r) => `${r.host}/${r.instance}`).join(", ")}`);
  }
  process.stdout.write(`\ndemo: ${rows.length} instances on 4 hosts are enabled and running.\n`);
} catch (err) {
  failed = true;
  process.stderr.write(`\ndemo: FAILED: ${err.message}\n`);
} finally {
  if (keep && !failed) {
    process.stdout.write(`\nThe lab stays up (--keep). Inventory: ${inv}\nNext:\n  node dist/cli.js -i ${inv} postmulti -g mta -p status\n  node dist/cli.js -i ${inv} report --format html -o fleet.html\n  node dist/cli.js lab down --dir ${dir}\n`);
  } else {
    step("Remove the lab");
    spawnSync(process.execPath, [cli, "lab", "down", "--dir", dir], { stdio: "inherit" });
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`demo: ${failed ? "failed" : "done"} in ${Math.round((Date.now() - started) / 1000)} s\n`);
}
process.exitCode = failed ? 1 : 0;
