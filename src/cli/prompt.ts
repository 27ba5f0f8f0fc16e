export { promptHidden } from "../shared/prompt.js";
