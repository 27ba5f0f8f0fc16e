// A playbook's YAML with its source positions, and the collected errors of a
// load: every problem is "FILE:LINE:COLUMN: message" at the offending node,
// and all of them are reported, not only the first.

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";

export type Path = readonly (string | number)[];

export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export interface PlaybookIssue extends SourceLocation {
  message: string;
}

/** All the problems of one playbook; `message` lists them, one per line. */
export class PlaybookError extends Error {
  constructor(readonly issues: PlaybookIssue[]) {
    super(issues.map(formatIssue).join("\n"));
    this.name = "PlaybookError";
  }
}

export function formatIssue(i: PlaybookIssue): string {
  return `${i.file}:${i.line}:${i.column}: ${i.message}`;
}

/** Collects issues; the same message at the same place is kept once. */
export class Diagnostics {
  readonly issues: PlaybookIssue[] = [];
  private readonly seen = new Set<string>();

  add(at: SourceLocation, message: string): void {
    const issue = { file: at.file, line: at.line, column: at.column, message };
    const key = formatIssue(issue);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.issues.push(issue);
  }

  get empty(): boolean {
    return this.issues.length === 0;
  }

  /** Throws a PlaybookError with the issues sorted by position, if any. */
  throwIfAny(): void {
    if (this.empty) return;
    const sorted = [...this.issues].sort((a, b) => a.line - b.line || a.column - b.column);
    throw new PlaybookError(sorted);
  }
}

export class YamlSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document | undefined,
    private readonly lc: LineCounter,
  ) {}

  /** Parse `text`; YAML errors go to `diag` (the value is then undefined). */
  static parse(file: string, text: string, diag: Diagnostics): { source: YamlSource; value: unknown } {
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, merge: true, uniqueKeys: true });
    const list: Document[] = [...docs];
    const doc = list[0];
    const source = new YamlSource(file, doc, lc);
    const at = (offset: number): SourceLocation => ({ file, ...toLineCol(lc, offset) });
    let bad = false;
    if (!list.length) {
      // An empty stream (only comments or nothing).
      diag.add(at(0), "the playbook is empty: it must be a YAML list of plays");
      return { source, value: undefined };
    }
    for (const d of list) {
      for (const e of [...d.errors, ...d.warnings]) {
        diag.add(at(e.pos[0]), `YAML: ${e.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`);
        bad = true;
      }
    }
    if (list.length > 1) {
      const second = list[1]!;
      diag.add(at(second.range?.[0] ?? 0), "a playbook is one YAML document (a list of plays); remove the '---' that starts a second one");
      bad = true;
    }
    if (bad || !doc) return { source, value: undefined };
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      diag.add(at(0), `YAML: ${(e as Error).message}`);
      return { source, value: undefined };
    }
    if (value === null || value === undefined) diag.add(at(doc.range?.[0] ?? 0), "the playbook is empty: it must be a YAML list of plays");
    return { source, value };
  }

  /** The node at `path`, or the deepest existing node on the way there. */
  private find(path: Path, key: boolean): Node | undefined {
    let node = this.doc?.contents as Node | null | undefined;
    if (!node) return undefined;
    for (let i = 0; i < path.length; i++) {
      if (isAlias(node)) node = node.resolve(this.doc!) as Node | undefined;
      const seg = path[i]!;
      if (isMap(node)) {
        const pair: { key: unknown; value: unknown } | undefined = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return node;
        if (key && i === path.length - 1) return (pair.key as Node) ?? node;
        // A key without a value (`restart:`) points at its key.
        node = (pair.value as Node | null) ?? (pair.key as Node);
      } else if (isSeq(node) && typeof seg === "number") {
        const item = node.items[seg] as Node | undefined;
        if (!item) return node;
        node = item;
      } else return node;
    }
    return node ?? undefined;
  }

  /** Where the value at `path` starts (or its key, with `key`). */
  at(path: Path, opts: { key?: boolean } = {}): SourceLocation {
    const node = this.find(path, opts.key ?? false);
    const offset = node?.range?.[0] ?? this.doc?.range?.[0] ?? 0;
    return { file: this.file, ...toLineCol(this.lc, offset) };
  }
}

function toLineCol(lc: LineCounter, offset: number): { line: number; column: number } {
  const p = lc.linePos(offset);
  return { line: p.line, column: p.col };
}
