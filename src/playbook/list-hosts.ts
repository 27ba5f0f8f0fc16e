// `postfleet run --list-hosts`: each play, then its hosts batch by batch, with
// the order and budgets that shaped the batches.

import { formatDuration } from "./duration.js";
import type { CanaryStage, Play, Playbook } from "./types.js";

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** How the canary stage leads to the next batch. */
export function promotion(c: CanaryStage): string {
  const soak = c.soakMs !== undefined ? `, gates held for ${formatDuration(c.soakMs)}` : "";
  return c.promote === "pause" ? `then the operator promotes or aborts${soak ? ` (${soak.slice(2)})` : ""}` : `promoted automatically when every canary host ended well${soak}`;
}

function playSummary(play: Play): string {
  const parts = [`order ${play.order}${play.orderSeed !== undefined ? ` (seed ${play.orderSeed})` : ""}`];
  parts.push(play.maxFail === null ? "no failure budget" : `failure budget ${plural(play.maxFail, "host")} (the play stops when it is reached)`);
  if (play.maxFailPerBatch) {
    const t = [...new Set(play.maxFailPerBatch)];
    parts.push(`a batch with more than ${t.length === 1 ? plural(t[0]!, "failure") : `${play.maxFailPerBatch.join("/")} failures`} stops it`);
  }
  if (play.canary) parts.push("a failure in the canary stage stops the play");
  if (play.pauseBetweenBatchesMs) parts.push(`${formatDuration(play.pauseBetweenBatchesMs)} between batches`);
  return parts.join(", ");
}

export function renderListHosts(playbook: Playbook): string {
  const lines = [`playbook: ${playbook.file}`, ""];
  for (const play of playbook.plays) {
    lines.push(`  play #${play.index + 1} (${play.pattern}): ${play.name}`);
    lines.push(`    ${playSummary(play)}`);
    lines.push(`    hosts (${play.hosts.length}):`);
    play.batches.forEach((b, i) => lines.push(`      ${i === 0 && play.canary ? `canary, batch 1 (${plural(b.length, "host")}; ${promotion(play.canary)})` : `batch ${i + 1} (${plural(b.length, "host")})`}: ${b.join(", ")}`));
    lines.push("");
  }
  return lines.join("\n");
}
