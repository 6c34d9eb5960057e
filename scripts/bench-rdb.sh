#!/usr/bin/env bash
# bench-rdb.sh: whole-program comparison of `cacheport verify --json FILE` with
# `redis-check-rdb FILE` on the benchmark file of ../shared/RDB-FACTS.md (best of three each,
# same run), printing both times, their ratio and cacheport's peak RSS.
#
# The file (about 170 MiB) is made once with a real redis-server and kept in
# $BENCH_DIR (default ${XDG_CACHE_HOME:-~/.cache}/cacheport/bench); delete it to rebuild.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cacheport/bench}
file=$dir/bench.rdb
runs=${BENCH_RUNS:-3}
mkdir -p "$dir"

for tool in redis-server redis-cli redis-check-rdb python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench-rdb: $tool is missing (make tools)" >&2; exit 2; }
done

if [[ ! -s $file ]]; then
  echo "bench-rdb: building $file with $(redis-server --version | cut -d' ' -f3)" >&2
  work=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save '' --appendonly no \
    --enable-debug-command local --rdbcompression yes --rdbchecksum yes \
    --logfile "$work/redis.log" --daemonize no &
  pid=$!
  trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$port" DEBUG POPULATE 1500000 big 120 >/dev/null
  python3 - <<'PY' | redis-cli -p "$port" --pipe >/dev/null
import base64, os, sys
out = sys.stdout.buffer
def cmd(*a):
    parts = [b'*%d\r\n' % len(a)]
    for x in a:
        x = x if isinstance(x, bytes) else str(x).encode()
        parts.append(b'$%d\r\n%s\r\n' % (len(x), x))
    out.write(b''.join(parts))
for i in range(150000):
    cmd('SET', 'rand:%d' % i, base64.b64encode(os.urandom(600)))  # 800 base64 characters
for i in range(20000):
    cmd('HSET', 'h:%d' % i, 'name', 'user%d' % i, 'age', i % 90, 'city', 'c%d' % (i % 50))
PY
  redis-cli -p "$port" SAVE >/dev/null
  echo "bench-rdb: $(redis-cli -p "$port" DBSIZE) keys" >&2
  mv "$work/dump.rdb" "$file"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  trap - EXIT
  rm -rf "$work"
fi

(cd "$here" && go build -trimpath -o bin/cacheport ./cmd/cacheport)
cp="$here/bin/cacheport"

# best CMD...: prints "seconds peak-rss-KiB" of the fastest of $runs runs (whole processes).
best() {
  local bestt="" bestm="" t m out
  out=$(mktemp)
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>&1 || true
    read -r t m < "$out"
    if [[ -z $bestt ]] || awk -v a="$t" -v b="$bestt" 'BEGIN{exit !(a<b)}'; then bestt=$t; bestm=$m; fi
  done
  rm -f "$out"
  echo "$bestt $bestm"
}

cat "$file" >/dev/null # page cache, for both
read -r ct cm < <(best "$cp" verify --json "$file")
read -r rt rm < <(best redis-check-rdb "$file")
size=$(stat -c %s "$file")
"$cp" verify --json "$file" | head -c 400; echo
printf 'file                %s (%d MiB)\n' "$file" $((size >> 20))
printf 'cacheport verify    %6.2f s  %6.0f MiB/s  peak RSS %d MiB\n' "$ct" "$(awk -v s="$size" -v t="$ct" 'BEGIN{print s/1048576/(t>0?t:0.01)}')" $((cm / 1024))
printf 'redis-check-rdb     %6.2f s  %6.0f MiB/s  peak RSS %d MiB\n' "$rt" "$(awk -v s="$size" -v t="$rt" 'BEGIN{print s/1048576/(t>0?t:0.01)}')" $((rm / 1024))
printf 'speed-up            %6.2fx (goal 3x)\n' "$(awk -v a="$rt" -v b="$ct" 'BEGIN{print a/(b>0?b:0.01)}')"
