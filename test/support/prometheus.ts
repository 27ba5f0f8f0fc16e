// Prometheus text read back by a parser from npm (parse-prometheus-text-format,
// devDependency): each family's samples as [labels, value] pairs.
import parsePrometheusTextFormat, { type PromFamily } from "parse-prometheus-text-format";

export type Series = Array<[Record<string, string>, number]>;

export function prometheusFamilies(text: string): { families: Record<string, PromFamily>; series: (name: string) => Series } {
  const families = Object.fromEntries(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  const series = (name: string): Series => {
    const f = families[name];
    if (!f) throw new Error(`no metric family ${name} in: ${Object.keys(families).join(", ")}`);
    return f.metrics.map((m) => [m.labels ?? {}, Number(m.value)]);
  };
  return { families, series };
}
