// `postfleet drift --format html`: one self-contained page (no external
// resources), one section per instance name with the reference configuration
// and the outliers' differences; every table sortable, one filter for all rows.
import type { DriftReport, InstanceDrift } from "../drift/compare.js";
import type { ComparableInstance } from "../drift/normalize.js";
import { hostList } from "./drift-text.js";

function h(v: string): string {
  return v.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const DIFF_COLUMNS = ["hosts", "what", "change", "name", "reference", "actual"];

function table(cls: string, columns: readonly string[], rows: string[][], rowClass: string): string {
  const head = columns.map((c, i) => `<th data-col="${i}">${h(c)}</th>`).join("");
  const body = rows.map((r) => `<tr class="${rowClass}">${r.map((c) => `<td>${h(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table class="${cls}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function referenceRows(c: ComparableInstance): string[][] {
  const rows: string[][] = [];
  if (c.group) rows.push(["instance", "group", c.group]);
  rows.push(["instance", "enabled", c.enabled ? "yes" : "no"]);
  if (c.order) rows.push(["instance", "order", c.order]);
  for (const [p, v] of Object.entries(c.main).sort(([a], [b]) => a.localeCompare(b))) rows.push(["main.cf", p, v]);
  for (const [k, s] of Object.entries(c.master)) {
    rows.push(["master.cf", k, s.line]);
    for (const [p, v] of Object.entries(s.params)) rows.push(["master.cf", `${k}/${p}`, v]);
  }
  return rows;
}

function section(i: InstanceDrift, r: DriftReport, index: number): string {
  const title = i.name === "-" ? "- (primary)" : i.name;
  const drift = i.outliers.length > 0;
  const refHosts = i.reference.hosts.length ? `reference: ${h(hostList(i.reference.hosts, 20))}` : `reference: ${h(r.against)}`;
  const status = drift
    ? `<p class="bad">DRIFT on ${i.outliers.reduce((n, g) => n + g.hosts.length, 0)} host(s); ${refHosts}</p>`
    : `<p class="good">no drift (${r.hosts.length} hosts)</p>`;
  const rows = i.outliers.flatMap((g) =>
    g.differences.map((d) => [g.hosts.join(", "), d.what, d.change, d.name ?? "", d.reference ?? "", d.actual ?? ""]),
  );
  const diffs = drift ? table("sortable diffs", DIFF_COLUMNS, rows, "outlier") : "";
  const ref = i.reference.config
    ? `<details><summary>reference configuration${i.reference.partial ? " (as declared)" : ""}</summary>${table("sortable reference", ["file", "setting", "value"], referenceRows(i.reference.config), "ref")}</details>`
    : `<p>reference: no such instance</p>`;
  return `<section id="instance-${index}" data-instance="${h(i.name)}"><h2>${h(title)}</h2>\n${status}\n${diffs}\n${ref}\n</section>`;
}

export function renderDriftHtml(r: DriftReport, generatedAt: Date): string {
  const versions = r.versions.map((v) => `postfix ${h(v.version)} on ${h(hostList(v.hosts, 20))}`).join("; ");
  const normalised = r.normalised.length
    ? `<details><summary>normalised before comparing (${r.normalised.length} settings)</summary><ul>${r.normalised
        .map((n) => `<li>${h(n.instance)} ${h(n.setting)}: ${h(n.placeholders.join(", "))} on ${n.hosts.length} host(s)</li>`)
        .join("")}</ul></details>`
    : "";
  const missing = [
    ...r.missingHosts.map((m) => `<li><b>${h(m.host)}</b>: ${h(m.status)}${m.error ? `: ${h(m.error)}` : ""}</li>`),
    ...r.unreadable.map((u) => `<li><b>${h(u.host)}</b> instance ${h(u.instance)}: ${h(u.error)}</li>`),
  ].join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>postfleet drift</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
th{cursor:pointer;background:#f3f3f3}th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
tr:hover td{background:#fafae0}input{font:inherit;padding:.3em;width:24em}.bad{color:#b00}.good{color:#070}
section{border-top:2px solid #ccc;margin-top:1em}
</style></head><body>
<h1>postfleet drift</h1>
<p id="summary">${r.hosts.length} hosts compared against the ${h(r.against)}; ${r.drift ? '<b class="bad">drift found</b>' : '<b class="good">no drift</b>'}; ${versions}; generated ${h(generatedAt.toISOString())}.</p>
${r.ignored.length ? `<p>ignored: ${h(r.ignored.join(", "))}</p>` : ""}
${normalised}
${missing ? `<ul class="bad">${missing}</ul>` : ""}
<input id="filter" type="search" placeholder="Filter rows (a host, parameter or value)" aria-label="Filter rows">
${r.instances.map((i, n) => section(i, r, n)).join("\n")}
<script>
(function(){
  var filter=document.getElementById("filter");
  var tables=Array.prototype.slice.call(document.querySelectorAll("table.sortable"));
  filter.addEventListener("input",function(){
    var q=filter.value.toLowerCase();
    tables.forEach(function(t){
      Array.prototype.forEach.call(t.tBodies[0].rows,function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)<0?"none":"";});
    });
  });
  tables.forEach(function(table){
    var tbody=table.tBodies[0];
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th){
      th.addEventListener("click",function(){
        var col=+th.dataset.col,asc=!th.classList.contains("asc");
        Array.prototype.forEach.call(th.parentNode.cells,function(x){x.classList.remove("asc","desc");});
        th.classList.add(asc?"asc":"desc");
        var rows=Array.prototype.slice.call(tbody.rows);
        rows.sort(function(a,b){
          var d=a.cells[col].textContent.localeCompare(b.cells[col].textContent,undefined,{numeric:true});
          return asc?d:-d;
        });
        rows.forEach(function(r){tbody.appendChild(r);});
      });
    });
  });
})();
</script>
</body></html>
`;
}
