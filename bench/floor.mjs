// The floor: a bare ssh2 client in one process running one command on every
// host (at most 50 at a time), nothing else: no agent, no inventory, no
// host-key file. What any SSH-based tool needs at least on this machine.
//   node bench/floor.mjs HOSTS.json 'postmulti -l' [FORKS] [BATCH]
// With BATCH, hosts go in lockstep batches of that size (each batch at once,
// the next when all are done): Postfix's own time for a rolling restart.
import { readFileSync } from "node:fs";
import ssh2 from "ssh2";

const [file, command, forksArg] = process.argv.slice(2);
const hosts = JSON.parse(readFileSync(file, "utf8"));
const forks = Number(forksArg ?? 50);
const batch = Number(process.argv[5] ?? 0);
const keys = new Map();
let failed = 0;

function one(h) {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    const key = keys.get(h.key) ?? keys.set(h.key, readFileSync(h.key)).get(h.key);
    c.on("ready", () =>
      c.exec(command, (err, ch) => {
        if (err) return failed++, c.end(), resolve();
        ch.on("data", () => {}).stderr.on("data", () => {});
        ch.on("exit", (code) => code !== 0 && failed++);
        ch.on("close", () => (c.end(), resolve()));
      }),
    );
    c.on("error", () => (failed++, resolve()));
    c.connect({ host: h.host, port: h.port, username: h.user, privateKey: key, readyTimeout: 60_000 });
  });
}

if (batch > 0) {
  for (let i = 0; i < hosts.length; i += batch) await Promise.all(hosts.slice(i, i + batch).map(one));
} else {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(forks, hosts.length) }, async () => {
    while (next < hosts.length) await one(hosts[next++]);
  }));
}
if (failed) {
  console.error(`floor: ${failed} of ${hosts.length} hosts failed`);
  process.exit(1);
}
