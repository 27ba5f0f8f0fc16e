// The in-memory inventory with Ansible's rules: groups and hosts in creation
// order, `all` and `ungrouped`, parent/child edges with depth, group
// priority, and reconciliation after all sources are read.

import { InventoryError } from "./errors.js";

/** Where a value or a declaration came from (for error messages). */
export interface Origin {
  file: string;
  line?: number;
}

export class Group {
  depth = 0;
  priority = 1;
  readonly vars: Record<string, unknown> = {};
  readonly varOrigins = new Map<string, Origin>();
  readonly childGroups: Group[] = [];
  readonly parentGroups: Group[] = [];
  readonly hosts: Host[] = [];
  /** Membership index of `hosts` (large groups). */
  readonly hostSet = new Set<Host>();
  constructor(readonly name: string) {}

  ancestors(): Set<Group> {
    const seen = new Set<Group>();
    const todo = [...this.parentGroups];
    while (todo.length) {
      const g = todo.pop()!;
      if (seen.has(g)) continue;
      seen.add(g);
      todo.push(...g.parentGroups);
    }
    return seen;
  }

  /**
   * Self, then descendants level by level. Ansible walks each level through a
   * Python set, so its order below the second level is not deterministic when
   * several groups branch; we walk each level in the order it was found.
   */
  descendantsOrdered(): Group[] {
    const ordered: Group[] = [this, ...this.childGroups];
    const seen = new Set<Group>();
    let level: Group[] = [this, ...this.childGroups];
    while (level.length) {
      for (const g of level) seen.add(g);
      const next: Group[] = [];
      for (const g of level) {
        for (const c of g.childGroups) {
          if (!seen.has(c) && !next.includes(c)) {
            next.push(c);
            ordered.push(c);
          }
        }
      }
      level = next;
    }
    return ordered;
  }

  /** All hosts of this group and its descendants, each once (Group.get_hosts). */
  getHosts(): Host[] {
    const out: Host[] = [];
    const seen = new Set<Host>();
    for (const g of this.descendantsOrdered()) {
      for (const h of g.hosts) {
        if (!seen.has(h)) {
          seen.add(h);
          out.push(h);
        }
      }
    }
    return out;
  }
}

export class Host {
  readonly vars: Record<string, unknown> = {};
  readonly varOrigins = new Map<string, Origin>();
  /** Groups the host was put in directly. */
  readonly directGroups = new Set<Group>();
  constructor(
    readonly name: string,
    readonly origin: Origin,
  ) {}

  /** Direct groups and all their ancestors (includes `all`). */
  groups(): Group[] {
    const out = new Set<Group>();
    for (const g of this.directGroups) {
      out.add(g);
      for (const a of g.ancestors()) out.add(a);
    }
    return [...out];
  }
}

export class InventoryData {
  readonly groups = new Map<string, Group>();
  readonly hosts = new Map<string, Host>();

  constructor() {
    this.addGroup("all");
    this.addGroup("ungrouped");
    this.addChild("all", "ungrouped");
  }

  addGroup(name: string): Group {
    let g = this.groups.get(name);
    if (!g) {
      g = new Group(name);
      this.groups.set(name, g);
    }
    return g;
  }

  addHost(name: string, origin: Origin, group?: string, port?: number): Host {
    let h = this.hosts.get(name);
    if (!h) {
      h = new Host(name, origin);
      this.hosts.set(name, h);
      if (port !== undefined) this.setHostVar(h, "ansible_port", port, origin);
    }
    if (group !== undefined) {
      const g = this.groups.get(group);
      if (!g) throw new InventoryError(`group ${group} is not defined`, origin);
      this.putHostInGroup(h, g);
    }
    return h;
  }

  private putHostInGroup(h: Host, g: Group): void {
    if (!g.hostSet.has(h)) {
      g.hosts.push(h);
      g.hostSet.add(h);
      h.directGroups.add(g);
    }
  }

  setHostVar(h: Host, key: string, value: unknown, origin: Origin): void {
    h.vars[key] = value;
    h.varOrigins.set(key, origin);
  }

  setGroupVar(g: Group, key: string, value: unknown, origin: Origin): void {
    if (key === "ansible_group_priority") {
      const n = typeof value === "number" ? Math.trunc(value) : typeof value === "string" && /^\s*[-+]?\d+\s*$/.test(value) ? parseInt(value, 10) : NaN;
      if (Number.isNaN(n)) throw new InventoryError(`ansible_group_priority of group ${g.name} must be an integer`, origin);
      g.priority = n;
      return;
    }
    g.vars[key] = value;
    g.varOrigins.set(key, origin);
  }

  /** Make `child` (a group, else a host) a member of `parent`. */
  addChild(parent: string, child: string, origin?: Origin): void {
    const p = this.groups.get(parent);
    if (!p) throw new InventoryError(`${parent} is not a known group`, origin ?? {});
    const cg = this.groups.get(child);
    if (cg) {
      this.addChildGroup(p, cg, origin);
      return;
    }
    const h = this.hosts.get(child);
    if (!h) throw new InventoryError(`${child} is not a known host nor group`, origin ?? {});
    this.putHostInGroup(h, p);
  }

  private addChildGroup(p: Group, c: Group, origin?: Origin): void {
    if (p === c) throw new InventoryError(`group ${p.name} cannot be a child of itself`, origin ?? {});
    if (p.childGroups.includes(c)) return;
    if (p.ancestors().has(c)) {
      throw new InventoryError(`adding group ${c.name} as child to ${p.name} creates a recursive dependency loop; remove one of the two edges`, origin ?? {});
    }
    p.childGroups.push(c);
    if (!c.parentGroups.some((g) => g.name === p.name)) c.parentGroups.push(p);
    this.raiseDepth(c, p.depth + 1);
  }

  private raiseDepth(g: Group, depth: number): void {
    if (g.depth >= depth) return;
    g.depth = depth;
    for (const c of g.childGroups) this.raiseDepth(c, depth + 1);
  }

  /** Ansible's reconcile_inventory: roots under `all`, lone hosts in `ungrouped`. */
  reconcile(): void {
    const all = this.groups.get("all")!;
    const ungrouped = this.groups.get("ungrouped")!;
    for (const g of this.groups.values()) {
      if (g !== all && g.ancestors().size === 0) this.addChildGroup(all, g);
    }
    for (const h of this.hosts.values()) {
      const mine = h.groups();
      if (mine.includes(ungrouped)) {
        if (mine.some((g) => g !== all && g !== ungrouped)) {
          ungrouped.hosts.splice(ungrouped.hosts.indexOf(h), 1);
          ungrouped.hostSet.delete(h);
          h.directGroups.delete(ungrouped);
        }
      } else if (mine.length === 0 || (mine.length === 1 && mine[0] === all)) {
        this.putHostInGroup(h, ungrouped);
      }
    }
  }
}

/** Ansible's sort_groups: by depth, then ansible_group_priority, then name. */
export function sortGroups(groups: Group[]): Group[] {
  return [...groups].sort((a, b) => a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
