// Where the builds go: app/console_dist/ in the Python package, or PARTNERGRAPH_WEB_OUT
// (`make web-check` builds there and compares the result with the shipped files).
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const WEB_DIR = resolve(fileURLToPath(new URL(".", import.meta.url)), "..");
export const DIST_DIR = resolve(WEB_DIR, process.env.PARTNERGRAPH_WEB_OUT ?? "../app/console_dist");
