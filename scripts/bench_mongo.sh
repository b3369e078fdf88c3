#!/bin/bash
# Benchmark of the mongo worker: one full poll cycle (request -> worker read
# -> diff done) for 10 000 keys in the document layout (one document per
# key, interop §3.1), next to the raw read of the same keys with libmongoc
# itself (a small C program built here: the worker's finds, key: {$in: [...]}
# in batches of 1000 projecting key and value, iterated, then the
# count_documents the worker makes for extras; best of 5, client
# connected), and the ratio. The server is the Mongo-wire fake (tests/mongo-fake: no mongod on
# this machine), so most of both times is the fake's own (JavaScript) query
# time. Prints figures; asserts nothing.
#   N=10000 keys; VTW_BUILD=build directory (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
MP= WP=
. scripts/bench_lib.sh mongo "WP MP"
bench_build
[ -d tests/mongo-fake/node_modules/@push.rocks/smartmongo ] ||
	(cd tests/mongo-fake && npm ci --no-audit --no-fund >/dev/null)
MPORT=$(port); APORT=$(port)
URI="mongodb://127.0.0.1:$MPORT"

# the Mongo-wire fake, as harness.MongoFake starts it
(cd tests/mongo-fake && exec node server.mjs "$MPORT") >"$D/fake.log" 2>&1 & MP=$!
for _ in $(seq 200); do grep -q '^READY' "$D/fake.log" && break; sleep 0.05; done
grep -q '^READY' "$D/fake.log" || { echo "bench_mongo: the fake did not start" >&2; cat "$D/fake.log" >&2; exit 1; }

# Git file with N keys; the same values written as the orchestrator does
mkdir -p "$D/repo"
$PY - "$D" "$N" "$URI" <<'PYEOF'
import sys
import pymongo
d, n, uri = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(d + "/repo/big.yaml", "w") as f:
    for i in range(n):
        f.write("key_%06d: value-%06d-abcdefghij\n" % (i, i))
with open(d + "/keys.txt", "w") as f:
    for i in range(n):
        f.write("key_%06d\n" % i)
vt = {"_vt_managed_by": "vartrack", "_vt_tenant": "b", "_vt_datasource": "mongo",
      "_vt_env": "main", "_vt_repo": "bench", "_vt_branch": "main",
      "_vt_commit": "0123456789ab", "_vt_file": "big.yaml"}
c = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
coll = c.vartrack.variables
for i in range(0, n, 1000):
    coll.insert_many([dict(vt, key="key_%06d" % j, value="value-%06d-abcdefghij" % j)
                      for j in range(i, min(n, i + 1000))])
assert coll.count_documents({}) == n
PYEOF
git -C "$D/repo" init -q -b main
git -C "$D/repo" -c user.email=b@x -c user.name=b add -A
git -C "$D/repo" -c user.email=b@x -c user.name=b commit -q -m big

# raw read with libmongoc: the worker's query, without the watcher
cat > "$D/raw.c" <<'CEOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <mongoc/mongoc.h>

#define BATCH	1000	/* as the worker: MONGO_BATCH_KEYS */

static double
ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void
scope(bson_t *f)
{
	bson_init(f);
	BSON_APPEND_UTF8(f, "_vt_tenant", "b");
	BSON_APPEND_UTF8(f, "_vt_datasource", "mongo");
	BSON_APPEND_UTF8(f, "_vt_env", "main");
}

int
main(int argc, char **argv)
{
	mongoc_client_t *cl;
	mongoc_collection_t *coll;
	mongoc_cursor_t *cur;
	const bson_t *doc;
	bson_t f, in, arr, base, *opts;
	bson_error_t e;
	bson_iter_t it;
	char line[256], ib[16], **keys = NULL;
	const char *ik;
	double best = 1e18, bestc = 1e18, t0, t1;
	size_t nk = 0, off, j;
	int r;
	long n;
	FILE *kf;

	(void)argc;
	mongoc_init();
	cl = mongoc_client_new(argv[1]);
	coll = mongoc_client_get_collection(cl, "vartrack", "variables");
	opts = BCON_NEW("projection", "{", "key", BCON_INT32(1), "value",
	    BCON_INT32(1), "_id", BCON_INT32(0), "}");
	kf = fopen(argv[2], "r");
	while (fgets(line, sizeof(line), kf) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		keys = realloc(keys, (nk + 1) * sizeof(*keys));
		keys[nk++] = strdup(line);
	}
	fclose(kf);
	for (r = 0; r < 6; r++) {	/* round 0 warms the connection */
		t0 = ms();
		n = 0;
		for (off = 0; off < nk; off += BATCH) {
			scope(&f);
			bson_append_document_begin(&f, "key", -1, &in);
			bson_append_array_begin(&in, "$in", -1, &arr);
			for (j = off; j < nk && j < off + BATCH; j++) {
				bson_uint32_to_string((uint32_t)(j - off), &ik,
				    ib, sizeof(ib));
				BSON_APPEND_UTF8(&arr, ik, keys[j]);
			}
			bson_append_array_end(&in, &arr);
			bson_append_document_end(&f, &in);
			cur = mongoc_collection_find_with_opts(coll, &f, opts,
			    NULL);
			while (mongoc_cursor_next(cur, &doc))
				if (bson_iter_init_find(&it, doc, "value"))
					n++;
			if (mongoc_cursor_error(cur, &e)) {
				fprintf(stderr, "find: %s\n", e.message);
				return 1;
			}
			mongoc_cursor_destroy(cur);
			bson_destroy(&f);
		}
		t1 = ms();
		if (n != (long)nk) {
			fprintf(stderr, "found %ld of %zu\n", n, nk);
			return 1;
		}
		/* the worker also counts the scope's documents (extras) */
		scope(&base);
		if (mongoc_collection_count_documents(coll, &base, NULL, NULL,
		    NULL, &e) < 0) {
			fprintf(stderr, "count: %s\n", e.message);
			return 1;
		}
		bson_destroy(&base);
		if (r > 0 && t1 - t0 < best)
			best = t1 - t0;
		if (r > 0 && ms() - t0 < bestc)
			bestc = ms() - t0;
	}
	printf("%.1f %.1f\n", best, bestc);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	mongoc_client_destroy(cl);
	mongoc_cleanup();
	return 0;
}
CEOF
cc -O2 -o "$D/raw" "$D/raw.c" $(pkg-config --cflags --libs libmongoc-1.0)

"$D/raw" "$URI" "$D/keys.txt" > "$D/raw.before"

cat > "$D/w.yaml" <<YAML
watcher: {poll_interval: 1s, admin_addr: "127.0.0.1:$APORT", cache_dir: $D/cache}
platforms: [{name: local, type: local}]
datasources: [{name: mongo, type: mongo, uri: "$URI", database: vartrack}]
rules:
  - {name: big, platform: local, datasource: mongo, repo_url: $D/repo, file_name: big.yaml,
     tenant_id: b, env: main, collection: variables, mongo_strategy: document}
YAML
"$B/bin/vartrack-watcher" -f "$D/w.yaml" 2>"$D/w.log" & WP=$!
oks() { grep -c '"result":"ok"' "$D/w.log" || true; }
for _ in $(seq 1200); do [ "$(oks)" -ge 6 ] && break; sleep 0.1; done
if [ "$(oks)" -lt 6 ]; then
	echo "bench_mongo: fewer than 6 OK polls" >&2; tail -5 "$D/w.log" >&2; exit 1
fi
# CPU of the mongo worker itself (user + sys), per poll
MWP=$(pgrep -P "$WP" -f vartrack-worker-mongo | head -1)
TICKS=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$MWP/stat")
NPOLLS=$(oks)
kill "$WP"; wait "$WP" 2>/dev/null || true; WP=
durs() { grep '"result":"ok"' "$D/w.log" | sed 's/.*"duration_us":\([0-9]*\).*/\1/'; }
reads() { grep '"result":"ok"' "$D/w.log" | sed 's/.*"read_us":\([0-9]*\).*/\1/'; }
FIRST_US=$(durs | sed -n 1p)
POLL_US=$(durs | sed -n 2,6p | sort -n | head -1)
READ_US=$(reads | sed -n 2,6p | sort -n | head -1)

# raw reads before and after the watcher ran: the best of both (the
# fake's query time varies by tens of percent from run to run)
read -r RAW_MS RAWC_MS < <(
	{ cat "$D/raw.before"; "$D/raw" "$URI" "$D/keys.txt"; } |
	sort -n | head -1)
WCPU_MS=$(awk -v t="$TICKS" -v n="$NPOLLS" -v hz="$(getconf CLK_TCK)" \
	'BEGIN{printf "%.1f", t * 1000 / hz / n}')
POLL_MS=$(awk -v u="$POLL_US" 'BEGIN{printf "%.1f", u/1000}')
READ_MS=$(awk -v u="$READ_US" 'BEGIN{printf "%.1f", u/1000}')
echo "mongo document layout, $N keys (server: Mongo-wire fake, tests/mongo-fake)"
printf '  poll cycle (best of polls 2-6): %s ms (read stage %s ms; first poll %s ms)\n' \
	"$POLL_MS" "$READ_MS" "$(awk -v u="$FIRST_US" 'BEGIN{printf "%.1f", u/1000}')"
printf '  raw libmongoc finds, $in batches of 1000 (best of 5): %s ms; finds + count_documents: %s ms\n' \
	"$RAW_MS" "$RAWC_MS"
printf '  mongo worker CPU (user + sys) per poll: %s ms; the rest is the fake'"'"'s own query time\n' \
	"$WCPU_MS"
printf '  ratio poll/raw find: %s; poll/(find + count): %s\n' \
	"$(awk -v a="$POLL_MS" -v b="$RAW_MS" 'BEGIN{printf "%.2f", a/b}')" \
	"$(awk -v a="$POLL_MS" -v b="$RAWC_MS" 'BEGIN{printf "%.2f", a/b}')"
