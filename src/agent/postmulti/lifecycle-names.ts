// Life-cycle mode's names and paths: which instance and group names postmulti
// accepts, and the private paths it derives from the primary's.
import { NAME_PREFIX } from "./instances.js";
import { PostmultiFatal } from "./messages.js";

const SAFE_PUNCT = "!@%-_=+:./";

export function isSafeName(s: string): boolean {
  if (s === "") return false;
  for (const c of s) if (!/[A-Za-z0-9]/.test(c) && !SAFE_PUNCT.includes(c)) return false;
  return true;
}

/** check_name_assignments(). */
export function checkNameAssignments(name: string | null, group: string | null): void {
  if (name) {
    if (!isSafeName(name)) throw new PostmultiFatal(`Unsafe characters in new instance name: '${name}'`, "usage");
    if (name.includes("/")) throw new PostmultiFatal(`Illegal '/' character in new instance name: '${name}'`, "usage");
    if (name !== "-" && !name.startsWith(NAME_PREFIX))
      throw new PostmultiFatal(`New instance name must start with '${NAME_PREFIX}'`, "usage");
  }
  if (group && !isSafeName(group)) throw new PostmultiFatal(`Unsafe characters in '-G ${group}'`, "usage");
}

/** make_private_path(): the primary's path with its last component replaced by the instance name. */
export function makePrivatePath(param: string, primaryValue: string, name: string | null): string {
  if (!name) throw new PostmultiFatal(`Missing ${param} parameter value`, "usage");
  if (!primaryValue.startsWith("/"))
    throw new PostmultiFatal(`Invalid default ${param} parameter value: '${primaryValue}': specify an absolute pathname`);
  let base = primaryValue;
  let end = base.lastIndexOf("/");
  if (end === base.length - 1) {
    // As in Postfix: this loop starts before the last slash, so a single
    // trailing slash survives it and is then taken as the last separator.
    while (--end > 0 && base[end] === "/") base = base.slice(0, end);
    end = base.lastIndexOf("/");
  }
  while (end > 0 && base[end] === "/") {
    base = base.slice(0, end);
    end--;
  }
  return `${base.length > 1 ? base : ""}/${name}`;
}
