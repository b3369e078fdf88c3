// Checks the Vercel fake's answers (tests/integration/vercel_fake.py)
// against @vercel/sdk's own response parsers (zod schemas generated from
// Vercel's OpenAPI spec; spec/backends-http-ha.md §4).
// stdin: one JSON line per response, {"op": "list"|"get", "body": "<JSON>"};
// stdout: one line per response, "ok" or "error <index>: <why>".
// Exit status 1 when any response fails to parse.
import { createInterface } from "node:readline";
import { filterProjectEnvsResponseBodyFromJSON } from
    "@vercel/sdk/models/filterprojectenvsop.js";
import { getProjectEnvResponseBodyFromJSON } from
    "@vercel/sdk/models/getprojectenvop.js";

let bad = 0, i = 0;
for await (const line of createInterface({ input: process.stdin })) {
	if (line.trim() === "")
		continue;
	const { op, body } = JSON.parse(line);
	const r = op === "list" ? filterProjectEnvsResponseBodyFromJSON(body) :
	    getProjectEnvResponseBodyFromJSON(body);
	let why = r.ok ? null : String(r.error).slice(0, 400);
	// the list must parse as oneOf (2), envs with their key and type
	if (r.ok && op === "list" && (!Array.isArray(r.value.envs) ||
	    r.value.envs.some((e) => typeof e.key !== "string" ||
	    typeof e.type !== "string")))
		why = "not parsed as {envs, pagination}";
	if (r.ok && op === "get" && typeof r.value.key !== "string")
		why = "no key";
	console.log(why === null ? "ok" : `error ${i}: ${why}`);
	if (why !== null)
		bad++;
	i++;
}
process.exit(bad ? 1 : 0);
