#!/bin/bash
# Benchmark of the s3 worker against a real SigV4-checking S3 server
# (@20minutes/s3rver 4.0.4 from tests/s3rver, `npm ci` there first; started
# as tests/integration/s3rver.py does it, on a free loopback port, stopped
# by PID). For N (10 000) keys, as the orchestrator writes them:
#  1. s3_one_file_per_key (N objects under b/main/): the poll cycle
#     (request -> worker read -> diff done, the "duration_us" of OK lines)
#     unchanged, median and best of polls 3..12, with the requests the
#     server saw per poll; then the poll that sees one changed object;
#  2. config.json (one object, N keys): the same;
#  next to the AWS CLI-free raw equivalent: curl --aws-sigv4 doing the same
#  requests (the ListObjectsV2 pages with their continuation tokens; HEAD;
#  the GET of what changed), best of 5, one curl process per request as a
#  shell script would.
# Prints figures; asserts nothing.   N=10000; VTW_BUILD=build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
SP= WP=
. scripts/bench_lib.sh s3 "WP SP"
bench_build
SPORT=$(port); APORT=$(port)
E="http://127.0.0.1:$SPORT"
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
[ -d tests/s3rver/node_modules/@20minutes/s3rver ] ||
	(cd tests/s3rver && npm ci --no-audit --no-fund >/dev/null)

mkdir -p "$D/s3"
node --openssl-legacy-provider tests/s3rver/server.js "$SPORT" "$D/s3" \
	>"$D/s3.log" 2>&1 </dev/null & SP=$!
for _ in $(seq 200); do grep -q READY "$D/s3.log" && break; sleep 0.05; done
grep -q READY "$D/s3.log" || { echo "bench_s3: s3rver did not start" >&2; cat "$D/s3.log" >&2; exit 1; }

# the Git file, the objects (unsigned fixture writes, 8 at a time)
mkdir -p "$D/repo"
$PY - "$D" "$N" "$E" <<'PYEOF'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
d, n, e = sys.argv[1], int(sys.argv[2]), sys.argv[3]
flat = {"key_%06d" % i: "value-%06d-abcdefghij" % i for i in range(n)}
with open(d + "/repo/big.yaml", "w") as f:
    for k, v in flat.items():
        f.write("%s: %s\n" % (k, v))
def put(path, body, q=""):
    r = urllib.request.Request(e + path + q, data=body, method="PUT")
    with urllib.request.urlopen(r, timeout=30) as resp:
        assert resp.status == 200
tags = (b"<Tagging><TagSet><Tag><Key>app.kubernetes.io/managed-by</Key>"
        b"<Value>vartrack</Value></Tag></TagSet></Tagging>")
put("/bench", None)
def one(kv):
    put("/bench/b/main/" + kv[0], kv[1].encode())
    put("/bench/b/main/" + kv[0], tags, "?tagging=")
with ThreadPoolExecutor(8) as ex:
    list(ex.map(one, flat.items()))
put("/bench/j/main/config.json", json.dumps(flat, indent=2, sort_keys=True).encode())
put("/bench/j/main/config.json", tags, "?tagging=")
PYEOF
git -C "$D/repo" init -q -b main
git -C "$D/repo" -c user.email=b@x -c user.name=b add -A
git -C "$D/repo" -c user.email=b@x -c user.name=b commit -q -m bench

conf() { # rule layout lines
	cat <<YAML
watcher: {poll_interval: 1s, admin_addr: "127.0.0.1:$APORT", cache_dir: $D/cache}
platforms: [{name: local, type: local}]
datasources: [{name: s3, type: s3, endpoint: "$E", region: us-east-1,
  access_key_id: {file: $D/ak}, secret_access_key: {file: $D/sk}, command_timeout: 30s}]
rules:
  - {name: big, platform: local, datasource: s3, repo_url: $D/repo, file_name: big.yaml,
     tenant_id: b, env: main, s3_bucket: bench, $1}
YAML
}
printf S3RVER > "$D/ak"; printf S3RVER > "$D/sk"
start_watcher() { # config-file log-file
	"$B/bin/vartrack-watcher" -f "$1" 2>"$2" & WP=$!
	for _ in $(seq 100); do curl -sf "http://127.0.0.1:$APORT/health/liveness" >/dev/null && break; sleep 0.1; done
}
stop_watcher() { kill "$WP"; wait "$WP" || true; WP=; }
count() { grep -c "$2" "$1" || true; }
wait_n() { # log pattern count
	for _ in $(seq 1800); do [ "$(count "$1" "$2")" -ge "$3" ] && return 0; sleep 0.1; done
	echo "bench_s3: no $2 x$3 in $1" >&2; tail -5 "$1" >&2; exit 1
}
reqs() { grep -c '^REQ .*"k":"S3RVER"' "$D/s3.log" || true; }
stats() { # values (us) on stdin -> "median X ms, best Y ms"
	sort -n | awk '{a[NR]=$1} END {printf "median %.1f ms, best %.1f ms", a[int((NR+1)/2)]/1000, a[1]/1000}'
}
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000 )); }

# raw: the same requests with curl --aws-sigv4 (7.88: the payload hash
# header by hand, the query already canonical)
s3c() { curl -sS --aws-sigv4 aws:amz:us-east-1:s3 --user S3RVER:S3RVER \
	-H "x-amz-content-sha256: $EMPTY" "$@"; }
raw_list() { # prefix -> prints the number of requests
	local tok="" q n=0 body
	while :; do
		if [ -n "$tok" ]; then q="continuation-token=$tok&list-type=2&prefix=$1"
		else q="list-type=2&prefix=$1"; fi
		body=$(s3c "$E/bench?$q"); n=$((n + 1))
		tok=$(printf '%s' "$body" | $PY -c 'import sys, re, urllib.parse
m = re.search(r"<NextContinuationToken>([^<]*)</NextContinuationToken>", sys.stdin.read())
print(urllib.parse.quote(m.group(1), safe="") if m else "")')
		[ -n "$tok" ] || break
	done
	echo "$n"
}
best_of() { # command... -> best wall time in us of 5 runs
	local b=999999999 t0 t i
	for i in 1 2 3 4 5; do t0=$(date +%s%N); "$@" >/dev/null; t=$(ms_since "$t0"); [ "$t" -lt "$b" ] && b=$t; done
	echo "$b"
}
raw_keys_unchanged() { raw_list "b%2Fmain%2F" >/dev/null; }
raw_keys_changed() { raw_list "b%2Fmain%2F" >/dev/null; s3c "$E/bench/b/main/key_004242" -o /dev/null; }
raw_json_unchanged() { s3c -I "$E/bench/j/main/config.json" -o /dev/null; }
raw_json_changed() { s3c -I "$E/bench/j/main/config.json" -o /dev/null; s3c "$E/bench/j/main/config.json" -o /dev/null; }

run_layout() { # title layout-line change-command
	local log="$D/w.log" r0 r1 polls lo hi
	: > "$log"
	conf "$2" > "$D/w.yaml"
	start_watcher "$D/w.yaml" "$log"
	wait_n "$log" '"result":"ok"' 2		# first poll fetched everything
	r0=$(reqs); lo=$(count "$log" '"result":"ok"')
	wait_n "$log" '"result":"ok"' $((lo + 10))
	r1=$(reqs); hi=$(count "$log" '"result":"ok"')
	polls=$((hi - lo))
	printf '%-34s %s; %s requests per poll\n' "$1, unchanged:" \
		"$(grep '"result":"ok"' "$log" | tail -n +3 | sed 's/.*"duration_us":\([0-9]*\).*/\1/' | stats)" \
		"$(echo "scale=1; ($r1 - $r0) / $polls" | bc)"
	r0=$(reqs)
	eval "$3"
	wait_n "$log" '"result":"drift"' 1
	r1=$(reqs)
	printf '%-34s %.1f ms; %s requests (incl. the tail of the poll before)\n' "$1, one key changed:" \
		"$(grep '"result":"drift"' "$log" | head -1 | sed 's/.*"duration_us":\([0-9]*\).*/\1/' | awk '{print $1/1000}')" \
		"$((r1 - r0))"
	stop_watcher
}

echo "=== bench_s3: $N keys, s3rver 4.0.4 on loopback, build $B"
run_layout "per-key objects ($N)" "s3_one_file_per_key: true, s3_key_prefix: b" \
	'$PY -c "import urllib.request as u; u.urlopen(u.Request(\"$E/bench/b/main/key_004242\", data=b\"changed\", method=\"PUT\"))"'
printf '%-34s %.1f ms (%s LIST requests)\n' "  raw curl, unchanged:" \
	"$(echo "scale=1; $(best_of raw_keys_unchanged) / 1000" | bc)" "$(raw_list "b%2Fmain%2F")"
printf '%-34s %.1f ms (LISTs + 1 GET)\n' "  raw curl, one key changed:" \
	"$(echo "scale=1; $(best_of raw_keys_changed) / 1000" | bc)"
run_layout "config.json ($N keys)" "s3_key_prefix: j" \
	'$PY - "$E" <<PY
import json, sys, urllib.request as u
flat = {"key_%06d" % i: "value-%06d-abcdefghij" % i for i in range($N)}
flat["key_004242"] = "changed"
u.urlopen(u.Request(sys.argv[1] + "/bench/j/main/config.json", data=json.dumps(flat, indent=2, sort_keys=True).encode(), method="PUT"))
PY'
printf '%-34s %.1f ms (1 HEAD)\n' "  raw curl, unchanged:" \
	"$(echo "scale=1; $(best_of raw_json_unchanged) / 1000" | bc)"
printf '%-34s %.1f ms (HEAD + GET of %s bytes)\n' "  raw curl, one key changed:" \
	"$(echo "scale=1; $(best_of raw_json_changed) / 1000" | bc)" \
	"$(s3c "$E/bench/j/main/config.json" | wc -c)"
