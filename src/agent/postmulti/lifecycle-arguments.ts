// The name=value arguments of `postmulti -e create` and `-e import`, split
// and checked as postmulti's assign_new_parameter() does.
import { PostmultiFatal } from "./messages.js";
import type { EditAction } from "./options.js";

export interface NewParams {
  configDir: string | null;
  queueDir: string | null;
  dataDir: string | null;
}

/** Postfix's ISSPACE(): ASCII white space only (a non-ASCII blank is part of a name). */
const BLANKS = " \t\n\v\f\r";
const isBlank = (c: string | undefined) => c !== undefined && c !== "" && BLANKS.includes(c);

/**
 * split_nameval(): "name = value", blanks around both trimmed; null when the
 * name is empty or not followed by '=' (Postfix's "missing attribute name",
 * "missing '=' after attribute name").
 */
export function splitNameval(arg: string): { name: string; value: string } | null {
  let i = 0;
  while (isBlank(arg[i])) i++;
  const start = i;
  while (i < arg.length && !isBlank(arg[i]) && arg[i] !== "=") i++;
  if (i === start) return null;
  const name = arg.slice(start, i);
  while (isBlank(arg[i])) i++;
  if (arg[i] !== "=") return null;
  i++;
  while (isBlank(arg[i])) i++;
  let end = arg.length;
  while (end > i && isBlank(arg[end - 1])) end--;
  return { name, value: arg.slice(i, end) };
}

/** assign_new_parameter(): one name=value argument of create/import. */
export function assignNewParameter(p: NewParams, action: EditAction, arg: string): void {
  const nv = splitNameval(arg);
  if (!nv) throw new PostmultiFatal(`Malformed parameter setting '${arg}'`, "usage");
  const { name } = nv;
  let { value } = nv;
  let key: keyof NewParams | null = null;
  if (name === "config_directory") key = "configDir";
  else if (action !== "import" && name === "queue_directory") key = "queueDir";
  else if (action !== "import" && name === "data_directory") key = "dataDir";
  if (key === null) throw new PostmultiFatal(`Parameter '${name}' not valid with action ${action}`, "usage");
  if (!value.startsWith("/")) throw new PostmultiFatal(`Parameter setting '${name}' is not an absolute path`, "usage");
  while (value.length > 1 && value.endsWith("/")) value = value.slice(0, -1);
  if (value === "/") throw new PostmultiFatal(`Parameter setting '${name}' is the root directory`, "usage");
  p[key] = value;
}
