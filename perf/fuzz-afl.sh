#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers with SharpFuzz + AFL++ (the fuzz targets of perf/Engine.Fuzz).
#   perf/fuzz-afl.sh [itch|iex|lobster|moldudp|capture ...]     targets (default: all), each run to $EXECS executions
#   EXECS=1000000 (default)   TIMEOUT_MS=5000 (an input running longer is a hang)
# Needs afl-fuzz (Debian: apt-get install afl++) and the sharpfuzz tool
# (dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0). Writes under out/fuzz-afl/;
# exits non-zero when AFL saved a crash or a hang.
set -euo pipefail
cd "$(dirname "$0")/.."
execs="${EXECS:-1000000}"
timeout_ms="${TIMEOUT_MS:-5000}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(itch iex lobster moldudp capture)
command -v afl-fuzz >/dev/null || { echo "afl-fuzz not found: apt-get install afl++"; exit 2; }
sharpfuzz="$(command -v sharpfuzz || echo "$HOME/.dotnet/tools/sharpfuzz")"
[ -x "$sharpfuzz" ] || { echo "sharpfuzz not found: dotnet tool install --global SharpFuzz.CommandLine --version 2.3.0"; exit 2; }

root="out/fuzz-afl"
rm -rf "$root"
mkdir -p "$root"
dotnet build perf/Engine.Fuzz -c Release -v quiet -nologo >/dev/null
# Seeds come from the plain build (instrumented code only runs under afl-fuzz).
for t in "${targets[@]}"; do
  dotnet perf/Engine.Fuzz/bin/Release/net10.0/Engine.Fuzz.dll seeds "$t" "$root/in-$t"
done

dotnet publish perf/Engine.Fuzz -c Release -o "$root/bin" -v quiet -nologo >/dev/null
# Coverage from the parsers, the book and the converter; not from the fuzz harness or the runtime.
for dll in FeedHandlers.dll Engine.dll Engine.Cli.dll; do
  "$sharpfuzz" "$root/bin/$dll"
done

status=0
for t in "${targets[@]}"; do
  AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    afl-fuzz -i "$root/in-$t" -o "$root/findings-$t" -t "$timeout_ms" -m none -E "$execs" \
    -- dotnet "$root/bin/Engine.Fuzz.dll" afl "$t" > "$root/afl-$t.log" 2>&1 || true
  stats="$root/findings-$t/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then
    echo "$t: afl-fuzz did not start; see $root/afl-$t.log"; status=1; continue
  fi
  get() { sed -n "s/^$1 *: *//p" "$stats"; }
  echo "$t: execs $(get execs_done), $(get execs_per_sec) execs/s, corpus $(get corpus_count) (found $(get corpus_found)), coverage $(get bitmap_cvg), crashes $(get saved_crashes), hangs $(get saved_hangs)"
  if [ "$(get saved_crashes)" != "0" ] || [ "$(get saved_hangs)" != "0" ]; then status=1; fi
done
exit $status
