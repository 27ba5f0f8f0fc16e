// `postfleet run --list-hosts`: each play, then its hosts batch by batch, with
// the order and budgets that shaped the batches.

import { formatDuration } from "./duration.js";
import type { Play, Playbook } from "./types.js";

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

function playSummary(play: Play): string {
  const parts = [`order ${play.order}${play.orderSeed !== undefined ? ` (seed ${play.orderSeed})` : ""}`];
  parts.push(play.maxFail === null ? "no failure budget" : `failure budget ${plural(play.maxFail, "host")} (the play stops when it is reached)`);
  if (play.maxFailPerBatch) {
    const t = [...new Set(play.maxFailPerBatch)];
    parts.push(`a batch with more than ${t.length === 1 ? plural(t[0]!, "failure") : `${play.maxFailPerBatch.join("/")} failures`} stops it`);
  }
  if (play.pauseBetweenBatchesMs) parts.push(`${formatDuration(play.pauseBetweenBatchesMs)} between batches`);
  return parts.join(", ");
}

export function renderListHosts(playbook: Playbook): string {
  const lines = [`playbook: ${playbook.file}`, ""];
  for (const play of playbook.plays) {
    lines.push(`  play #${play.index + 1} (${play.pattern}): ${play.name}`);
    lines.push(`    ${playSummary(play)}`);
    lines.push(`    hosts (${play.hosts.length}):`);
    play.batches.forEach((b, i) => lines.push(`      batch ${i + 1} (${plural(b.length, "host")}): ${b.join(", ")}`));
    lines.push("");
  }
  return lines.join("\n");
}
