// Run-time state of an instance, read from its files: is its master process
// alive, and how many messages are queued.
import { readdirSync, readFileSync } from "node:fs";
import { QUEUE_NAMES, type QueueName } from "../../protocol/index.js";

/** The master pid from $queue_directory/pid/master.pid, if that process is a live master. */
export function masterPid(queueDir: string): number | null {
  let pid: number;
  try {
    pid = Number.parseInt(readFileSync(`${queueDir}/pid/master.pid`, "utf8").trim(), 10);
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return null;
  }
  try {
    // "(master) S ...": a zombie (Z) or dead (X) master is not running.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (comm !== "master" || state === "Z" || state === "X") return null;
  } catch {
    /* no /proc: trust kill(0) */
  }
  return pid;
}

export const isRunning = (queueDir: string) => masterPid(queueDir) !== null;

/** Files below `dir` (hashed subdirectories included); a missing directory holds none. What cannot be read goes to `unreadable`. */
function countFiles(dir: string, unreadable: string[]): number {
  let n = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT") unreadable.push(`${dir} (${code ?? (e as Error).message})`);
    return 0;
  }
  for (const e of entries) {
    if (e.isDirectory()) n += countFiles(`${dir}/${e.name}`, unreadable);
    else if (e.isFile()) n++;
  }
  return n;
}

/** Messages per queue, or why they cannot be counted. */
export type QueueCount = { counts: Record<QueueName, number>; error?: undefined } | { counts?: undefined; error: string };

/**
 * Messages per queue (files below each queue directory, hashed
 * subdirectories included). A queue directory the agent cannot read (not
 * root: Postfix keeps them 0700 postfix) is an error, never a count of 0: a
 * report or a queue gate must not take "cannot see" for "empty".
 */
export function queueCounts(queueDir: string): QueueCount {
  const counts = {} as Record<QueueName, number>;
  const unreadable: string[] = [];
  for (const q of QUEUE_NAMES) counts[q] = countFiles(`${queueDir}/${q}`, unreadable);
  if (unreadable.length === 0) return { counts };
  const uid = process.geteuid?.();
  const who = uid !== undefined && uid !== 0 ? `; the agent runs as uid ${uid}, and Postfix's queues are readable by root only (become)` : "";
  return { error: `cannot read ${unreadable.slice(0, 3).join(", ")}${unreadable.length > 3 ? ` and ${unreadable.length - 3} more` : ""}${who}` };
}

/** Contents of an instance's main.cf and master.cf, to tell whether a command changed them. */
export function configSnapshot(configDir: string): string {
  const read = (f: string) => {
    try {
      return readFileSync(`${configDir}/${f}`, "utf8");
    } catch {
      return "\0missing";
    }
  };
  return `${read("main.cf")}\0${read("master.cf")}`;
}
