// `postfleet report`: the fleet's instances as a table, CSV, JSON or one
// self-contained HTML file (sortable, filterable, no external resources).
import { QUEUE_NAMES, type QueueName } from "../protocol/index.js";
import type { HostOutcome } from "../orchestrator/run-document.js";

export interface InstanceRow {
  host: string;
  instance: string;
  group: string;
  enabled: boolean;
  running: boolean;
  configDirectory: string;
  queueDirectory: string;
  dataDirectory: string;
  postfixVersion: string;
  queues: Record<QueueName, number> | null;
}

/** One row per instance of a host whose outcome carries facts (none for a failed host). */
export function instanceRows(outcome: HostOutcome): InstanceRow[] {
  const facts = outcome.data?.kind === "facts" ? outcome.data : null;
  if (!facts) return [];
  return facts.instances.map((i) => ({
    host: outcome.host,
    instance: i.name,
    group: i.group,
    enabled: i.enabled,
    running: i.running,
    configDirectory: i.configDirectory,
    queueDirectory: i.queueDirectory,
    dataDirectory: i.dataDirectory,
    postfixVersion: facts.postfixVersion,
    queues: i.queues ?? null,
  }));
}

const COLUMNS: Array<{ title: string; cell: (r: InstanceRow) => string }> = [
  { title: "host", cell: (r) => r.host },
  { title: "instance", cell: (r) => r.instance },
  { title: "group", cell: (r) => r.group },
  { title: "enabled", cell: (r) => (r.enabled ? "yes" : "no") },
  { title: "running", cell: (r) => (r.running ? "yes" : "no") },
  { title: "config_directory", cell: (r) => r.configDirectory },
  { title: "queue_directory", cell: (r) => r.queueDirectory },
  { title: "data_directory", cell: (r) => r.dataDirectory },
  { title: "postfix", cell: (r) => r.postfixVersion },
  ...QUEUE_NAMES.map((q) => ({ title: q, cell: (r: InstanceRow) => (r.queues ? String(r.queues[q]) : "") })),
];

export function renderTable(rows: readonly InstanceRow[], problems: readonly HostOutcome[]): string {
  const cells = [COLUMNS.map((c) => c.title), ...rows.map((r) => COLUMNS.map((c) => c.cell(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const lines = cells.map((row) =>
    row
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
  const notes = problems.map((h) => `${h.host}: ${h.status.toUpperCase()}: ${h.error ?? ""}`);
  return [...lines, ...(notes.length ? ["", ...notes] : [])].join("\n") + "\n";
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function renderCsv(rows: readonly InstanceRow[]): string {
  const lines = [COLUMNS.map((c) => c.title), ...rows.map((r) => COLUMNS.map((c) => c.cell(r)))];
  return lines.map((l) => l.map(csvField).join(",")).join("\r\n") + "\r\n";
}

function html(v: string): string {
  return v.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function renderHtml(rows: readonly InstanceRow[], problems: readonly HostOutcome[], generatedAt: Date): string {
  const numeric = new Set<string>(QUEUE_NAMES);
  const head = COLUMNS.map(
    (c, i) => `<th data-col="${i}"${numeric.has(c.title) ? ' data-num="1"' : ""}>${html(c.title)}</th>`,
  ).join("");
  const body = rows
    .map((r) => `<tr>${COLUMNS.map((c) => `<td>${html(c.cell(r))}</td>`).join("")}</tr>`)
    .join("\n");
  const issues = problems
    .map((h) => `<li><b>${html(h.host)}</b>: ${html(h.status)}: ${html(h.error ?? "")}</li>`)
    .join("");
  const hosts = new Set(rows.map((r) => r.host)).size;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>postfleet report</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}
th{cursor:pointer;background:#f3f3f3;position:sticky;top:0}th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
tr:hover td{background:#fafae0}input{font:inherit;padding:.3em;width:24em;margin-bottom:.8em}.bad{color:#b00}
</style></head><body>
<h1>postfleet report</h1>
<p>${rows.length} instances on ${hosts} hosts; generated ${html(generatedAt.toISOString())}.</p>
${issues ? `<ul class="bad">${issues}</ul>` : ""}
<input id="filter" type="search" placeholder="Filter rows (e.g. a host, group or 'no')" aria-label="Filter rows">
<table id="report"><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table>
<script>
(function(){
  var table=document.getElementById("report"),tbody=table.tBodies[0],filter=document.getElementById("filter");
  filter.addEventListener("input",function(){
    var q=filter.value.toLowerCase();
    Array.prototype.forEach.call(tbody.rows,function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)<0?"none":"";});
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th){
    th.addEventListener("click",function(){
      var col=+th.dataset.col,num=!!th.dataset.num,asc=!th.classList.contains("asc");
      Array.prototype.forEach.call(th.parentNode.cells,function(h){h.classList.remove("asc","desc");});
      th.classList.add(asc?"asc":"desc");
      var rows=Array.prototype.slice.call(tbody.rows);
      rows.sort(function(a,b){
        var x=a.cells[col].textContent,y=b.cells[col].textContent;
        var d=num?(+x)-(+y):x.localeCompare(y,undefined,{numeric:true});
        return asc?d:-d;
      });
      rows.forEach(function(r){tbody.appendChild(r);});
    });
  });
})();
</script>
</body></html>
`;
}
