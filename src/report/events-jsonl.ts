// --events: the run's records as JSON Lines (the same lines its journal
// holds; schema: playbooks/events.schema.json).
import type { RunRecord } from "../orchestrator/journal/records.js";

export function eventLine(record: RunRecord): string {
  return `${JSON.stringify(record)}\n`;
}

export function renderEventsJsonl(records: readonly RunRecord[]): string {
  return records.map(eventLine).join("");
}
