// `postfleet report`: the fleet's instances as a table, CSV, JSON or one
// self-contained HTML file (sortable, filterable, no external resources);
// the summary and the rows with a problem first (fleet-health.ts).
import { QUEUE_NAMES } from "../protocol/index.js";
import { formatAge, summaryLines, type ProblemSummary, type ReportRow } from "./fleet-health.js";

export { instanceRows, type InstanceRow } from "./fleet-health.js";

/** A yes/no cell, empty for a row that is no instance (a host without facts, a missing instance). */
const yesNo = (r: ReportRow, v: boolean) => (r.kind === "instance" ? (v ? "yes" : "no") : "");

const COLUMNS: Array<{ title: string; cell: (r: ReportRow) => string }> = [
  { title: "host", cell: (r) => r.host },
  { title: "instance", cell: (r) => r.instance },
  { title: "group", cell: (r) => r.group },
  { title: "enabled", cell: (r) => yesNo(r, r.enabled) },
  { title: "running", cell: (r) => yesNo(r, r.running) },
  { title: "config_directory", cell: (r) => r.configDirectory },
  { title: "queue_directory", cell: (r) => r.queueDirectory },
  { title: "data_directory", cell: (r) => r.dataDirectory },
  { title: "postfix", cell: (r) => r.postfixVersion },
  ...QUEUE_NAMES.map((q) => ({ title: q, cell: (r: ReportRow) => (r.queues ? String(r.queues[q]) : "") })),
  { title: "oldest_deferred", cell: (r) => (r.oldestDeferredS === null ? "" : formatAge(r.oldestDeferredS)) },
  { title: "problems", cell: (r) => r.problems.join("; ") },
];

/** The summary, then one aligned table: rows with a problem first (marked "!"), then the rest. */
export function renderTable(rows: readonly ReportRow[], summary: ProblemSummary): string {
  const cells = [["", ...COLUMNS.map((c) => c.title)], ...rows.map((r) => [r.problems.length ? "!" : "", ...COLUMNS.map((c) => c.cell(r))])];
  // A loop, not Math.max(...column): a fleet's report can have more rows than a call takes arguments.
  const widths = cells[0]!.map(() => 0);
  for (const row of cells) row.forEach((v, i) => (widths[i] = Math.max(widths[i]!, v.length)));
  const lines = cells.map((row) =>
    row
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
  return [...summaryLines(summary), "", ...lines].join("\n") + "\n";
}

function csvField(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function renderCsv(rows: readonly ReportRow[]): string {
  const lines = [COLUMNS.map((c) => c.title), ...rows.map((r) => COLUMNS.map((c) => c.cell(r)))];
  return lines.map((l) => l.map(csvField).join(",")).join("\r\n") + "\r\n";
}

function html(v: string): string {
  return v.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function renderHtml(rows: readonly ReportRow[], summary: ProblemSummary, generatedAt: Date): string {
  const numeric = new Set<string>(QUEUE_NAMES);
  const head = COLUMNS.map(
    (c, i) => `<th data-col="${i}"${numeric.has(c.title) || c.title === "oldest_deferred" ? ' data-num="1"' : ""}>${html(c.title)}</th>`,
  ).join("");
  const td = (r: ReportRow, c: (typeof COLUMNS)[number]) =>
    c.title === "oldest_deferred" && r.oldestDeferredS !== null ? `<td data-v="${r.oldestDeferredS}">${html(c.cell(r))}</td>` : `<td>${html(c.cell(r))}</td>`;
  const body = rows
    .map((r) => `<tr${r.problems.length ? ` class="problem ${r.kind}"` : ""}>${COLUMNS.map((c) => td(r, c)).join("")}</tr>`)
    .join("\n");
  const [counts, versions, thresholds, verdict] = summaryLines(summary).map(html);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>postfleet report</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}th,td{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap}
th{cursor:pointer;background:#f3f3f3;position:sticky;top:0}th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
tr:hover td{background:#fafae0}input[type=search]{font:inherit;padding:.3em;width:24em;margin:0 1em .8em 0}.bad{color:#b00}.good{color:#070}
tr.problem td{background:#fde8e8}tr.problem td:last-child{color:#b00;font-weight:bold}
</style></head><body>
<h1>postfleet report</h1>
<div id="summary">
<p>${counts}; ${rows.filter((r) => r.kind === "instance").length} instances on ${summary.hostsReporting} hosts; generated ${html(generatedAt.toISOString())}.</p>
<p>${versions}</p>
<p>${thresholds}</p>
<p id="verdict" class="${summary.problems ? "bad" : "good"}"><b>${verdict}</b></p>
</div>
<input id="filter" type="search" placeholder="Filter rows (e.g. a host, group or 'no')" aria-label="Filter rows">
<label><input id="problems-only" type="checkbox"> problems only (${summary.problems})</label>
<table id="report"><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table>
<script>
(function(){
  var table=document.getElementById("report"),tbody=table.tBodies[0],filter=document.getElementById("filter"),only=document.getElementById("problems-only");
  function apply(){
    var q=filter.value.toLowerCase(),o=only.checked;
    Array.prototype.forEach.call(tbody.rows,function(r){
      r.style.display=r.textContent.toLowerCase().indexOf(q)<0||(o&&!r.classList.contains("problem"))?"none":"";
    });
  }
  filter.addEventListener("input",apply);
  only.addEventListener("change",apply);
  Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th){
    th.addEventListener("click",function(){
      var col=+th.dataset.col,num=!!th.dataset.num,asc=!th.classList.contains("asc");
      Array.prototype.forEach.call(th.parentNode.cells,function(h){h.classList.remove("asc","desc");});
      th.classList.add(asc?"asc":"desc");
      var rows=Array.prototype.slice.call(tbody.rows);
      rows.sort(function(a,b){
        var x=a.cells[col].dataset.v||a.cells[col].textContent,y=b.cells[col].dataset.v||b.cells[col].textContent;
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
