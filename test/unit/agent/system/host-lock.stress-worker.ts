// A contender in the lock stress test (host-lock.stress.test.ts), bundled by it.
// Loops forever: takes the host lock, writes its own mark into a shared file,
// checks (several times, with a little work in between) that the mark is
// still its own, then releases. Now and then it dies by SIGKILL while it
// holds the lock or while it waits. One line per event on stdout, written
// synchronously (it may die right after): "a" acquired, "o" overlap seen.
// With "nolock" it skips the lock: the test's check that overlaps are seen.
import { readFileSync, writeFileSync, writeSync } from "node:fs";
import { acquireLock } from "../../../../src/agent/system/host-lock.js";

const [dir = "", marker = "", crashEveryArg = "0", mode = "lock"] = process.argv.slice(2);
const crashEvery = Number(crashEveryArg);
const chance = (n: number) => n > 0 && Math.random() * n < 1;

function spin(): void {
  const until = process.hrtime.bigint() + 50_000n; // 50 µs
  while (process.hrtime.bigint() < until);
}

async function main(): Promise<void> {
  for (let i = 0; ; i++) {
    // Dies while waiting, now and then (a timer that fires during the wait).
    const killer = chance(crashEvery) ? setTimeout(() => process.kill(process.pid, "SIGKILL"), Math.random() * 3) : undefined;
    const lock = mode === "nolock" ? null : await acquireLock("stress", 120_000, { dir });
    if (killer) clearTimeout(killer);
    const mark = `${process.pid}:${i}`;
    writeFileSync(marker, mark);
    writeSync(1, "a\n");
    if (chance(crashEvery)) process.kill(process.pid, "SIGKILL"); // dies holding it
    let overlap = false;
    for (let k = 0; k < 3; k++) {
      spin();
      if (readFileSync(marker, "utf8") !== mark) overlap = true;
    }
    if (overlap) writeSync(1, "o\n");
    lock?.release();
    if (i % 64 === 63) await new Promise((r) => setImmediate(r));
  }
}

void main();
