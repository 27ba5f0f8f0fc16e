// The in-memory inventory with Ansible's rules: groups and hosts in creation
// order, `all` and `ungrouped`, parent/child edges with depth, group
// priority, and reconciliation after all sources are read.

import { InventoryError } from "./errors.js";
import { count, DEFAULT_LIMITS, type InventoryLimits } from "./limits.js";

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
  /** Membership indexes of childGroups and parentGroups (groups with many children). */
  readonly childSet = new Set<Group>();
  readonly parentSet = new Set<Group>();
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
      for (const p of g.parentGroups) if (!seen.has(p)) todo.push(p);
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
      const inNext = new Set<Group>();
      for (const g of level) {
        for (const c of g.childGroups) {
          if (!seen.has(c) && !inNext.has(c)) {
            next.push(c);
            inNext.add(c);
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

  constructor(readonly limits: InventoryLimits = DEFAULT_LIMITS) {
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
      if (this.hosts.size >= this.limits.maxHosts) {
        throw new InventoryError(`more than ${count(this.limits.maxHosts)} hosts in the inventory: postfleet stops here (a host range or a script gone wrong?)`, origin);
      }
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
    if (p.childSet.has(c)) return;
    if (p.ancestors().has(c)) {
      throw new InventoryError(`adding group ${c.name} as child to ${p.name} creates a recursive dependency loop; remove one of the two edges`, origin ?? {});
    }
    // Before reconcile a group's depth may still grow by one (when it goes under `all`): keep room for it.
    this.raiseDepth(c, p.depth + 1, p === this.groups.get("all") ? this.limits.maxGroupDepth : this.limits.maxGroupDepth - 1, `${c.name} as a child of ${p.name}`, origin);
    p.childGroups.push(c);
    p.childSet.add(c);
    if (!c.parentSet.has(p)) {
      c.parentGroups.push(p);
      c.parentSet.add(p);
    }
  }

  /** Ansible's depth (longest path from the top), walked without recursion; too deep is an error at `origin`. */
  private raiseDepth(top: Group, depth: number, max: number, what: string, origin?: Origin): void {
    const todo: [Group, number][] = [[top, depth]];
    while (todo.length) {
      const [g, d] = todo.pop()!;
      if (g.depth >= d) continue;
      if (d > max) {
        throw new InventoryError(
          `group ${what} nests groups more than ${count(this.limits.maxGroupDepth)} levels deep: postfleet stops here (Ansible itself fails at about 950); is a children section wrong?`,
          origin ?? {},
        );
      }
      g.depth = d;
      for (const c of g.childGroups) todo.push([c, d + 1]);
    }
  }

  /** Ansible's reconcile_inventory: roots under `all`, lone hosts in `ungrouped`. */
  reconcile(): void {
    const all = this.groups.get("all")!;
    const ungrouped = this.groups.get("ungrouped")!;
    let dropFromUngrouped = false;
    for (const g of this.groups.values()) {
      if (g !== all && g.ancestors().size === 0) this.addChildGroup(all, g);
    }
    for (const h of this.hosts.values()) {
      const mine = h.groups();
      if (mine.includes(ungrouped)) {
        if (mine.some((g) => g !== all && g !== ungrouped)) {
          ungrouped.hostSet.delete(h);
          h.directGroups.delete(ungrouped);
          dropFromUngrouped = true;
        }
      } else if (mine.length === 0 || (mine.length === 1 && mine[0] === all)) {
        this.putHostInGroup(h, ungrouped);
      }
    }
    // One pass instead of a splice per host (quadratic with many ungrouped hosts).
    if (dropFromUngrouped) {
      const keep = ungrouped.hosts.filter((h) => ungrouped.hostSet.has(h));
      ungrouped.hosts.length = 0;
      for (const h of keep) ungrouped.hosts.push(h);
    }
  }
}

/** Ansible's sort_groups: by depth, then ansible_group_priority, then name. */
export function sortGroups(groups: Group[]): Group[] {
  return [...groups].sort((a, b) => a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
