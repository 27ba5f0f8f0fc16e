// Test helpers: is anything of a process group still alive (zombies, dead
// but not yet reaped by init, do not count), and polling.
import { readdirSync, readFileSync } from "node:fs";

/** Live (non-zombie) members of process group `pgid`, from /proc. */
export function liveGroupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (Number(pgrp) === pgid && state !== "Z" && state !== "X") out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

export const groupAlive = (pgid: number): boolean => liveGroupMembers(pgid).length > 0;

export async function waitUntil(cond: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}
