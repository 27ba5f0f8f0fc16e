// Limits that stop inventory bombs (alias expansion, huge host ranges, deep
// nesting) with a clear file:line error, before memory or time run out. Each
// sits far above what a real fleet uses: a 150,000-host inventory loads.

export interface InventoryLimits {
  /** Hosts in all sources together (about 2 KB of memory each). */
  maxHosts: number;
  /** Host names one pattern with ranges may make (`mx[1:100000]`); split larger ranges over several lines. */
  maxRangeHosts: number;
  /** Levels of groups below `all` (children of children ...). Ansible itself fails past about 950. */
  maxGroupDepth: number;
  /** Values in one YAML/JSON document once its aliases are expanded (a 9-level alias bomb has 387 million). */
  maxYamlValues: number;
  /** Nesting of values in a YAML/JSON document (lists and mappings inside each other). */
  maxValueDepth: number;
  /**
   * Characters of one YAML document (JSON is not limited): the YAML reader needs about 50 bytes of
   * memory per character; a 150,000-host inventory with a few variables each is about 13 MB.
   */
  maxYamlChars: number;
}

export const DEFAULT_LIMITS: Readonly<InventoryLimits> = Object.freeze({
  maxHosts: 500_000,
  maxRangeHosts: 100_000,
  maxGroupDepth: 1000,
  maxYamlValues: 10_000_000,
  maxValueDepth: 200,
  maxYamlChars: 32 * 1024 * 1024,
});

/** 1234567 as "1,234,567" for messages. */
export const count = (n: number): string => n.toLocaleString("en-US");
