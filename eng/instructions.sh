#!/usr/bin/env bash
# Instructions one Dapper point read executes, through Helix.Data and through the plain provider, counted by valgrind's
# cachegrind (installed from Debian's package when missing). Unlike a clock, the count does not move with what else
# runs on the machine: a change of a few per cent in Helix's own path shows up here when timing cannot resolve it.
#
#   eng/instructions.sh [Null] [Sqlite]        (default: both)
#   KINDS="plain helix plain-async helix-async" eng/instructions.sh Sqlite
#   CACHES=1 eng/instructions.sh Sqlite          (also simulates the caches and branch predictors: misses per operation)
#   KINDS="write-plain write-helix" eng/instructions.sh Null
#                                                (a Dapper INSERT on both strands: Helix against the same insert on two
#                                                 plain connections in turn; write-plain-async and write-helix-async
#                                                 against Task.WhenAll)
#   KINDS="ef-plain ef-helix ef-intercepted ef-plain-pooled ef-helix-pooled ef-intercepted-pooled" N1=500 N2=1500 eng/instructions.sh Sqlite
#                                                (an EF Core point query as EfCoreBenchmarks runs it: plain EF Core
#                                                 against UseHelix, with a new context each and with pooled contexts;
#                                                 ef-intercepted[-pooled] is plain EF Core with a command and a connection
#                                                 interceptor that do nothing: what EF spends on having interceptors)
#   KINDS="open-plain open-helix open-plain-async open-helix-async" eng/instructions.sh Sqlite
#                                                (a read's new connection, opened and closed as Dapper does it, without
#                                                 the query: what the read spends outside its command)
#
# Each kind runs twice under cachegrind, N1 and N2 operations; the difference divided by N2 - N1 is one, start-up and
# set-up cancelling out. The JIT compiles every method once, fully optimized (DOTNET_TieredCompilation=0): tiered
# compilation would replace code at moments that depend on timing, and the counts would drift between runs. Counts are
# therefore those of code without profile-guided optimization; compare them with each other, not with production.
set -euo pipefail
cd "$(dirname "$0")/.."

providers=("$@")
[ ${#providers[@]} -eq 0 ] && providers=(Null Sqlite)
for provider in "${providers[@]}"; do
  case "$provider" in
    Null|Sqlite) ;;
    # the PostgreSQL servers the benchmarks start do not come up in time for a client slowed fifty-fold by valgrind
    *) echo "eng/instructions.sh counts Null and Sqlite operations, not '$provider'" >&2; exit 2 ;;
  esac
done
kinds=(${KINDS:-plain helix})
n1=${N1:-3000}
n2=${N2:-9000}

if ! command -v valgrind >/dev/null; then
  echo "installing valgrind (Debian package)" >&2
  apt-get install -y -qq valgrind >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
fi

dotnet build -c Release test/Helix.Data.Benchmarks -v quiet -nologo >/dev/null
dll=test/Helix.Data.Benchmarks/bin/Release/net10.0/Helix.Data.Benchmarks.dll
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

simulate=(--cache-sim=no)
[ "${CACHES:-0}" = 1 ] && simulate=(--cache-sim=yes --branch-sim=yes)

count() { # provider kind count -> total instructions of the process
  # --aspace-minaddr: valgrind otherwise maps the process's memory below 4 GiB, and there the JIT gives up optimizing most
  # methods and compiles them again without optimization (DOTNET_JitDisasmSummary=1: 2,269 of 3,885 compilations "MinOpts"
  # under valgrind by default, none natively); above 4 GiB it compiles what it compiles natively.
  DOTNET_TieredCompilation=0 valgrind --tool=cachegrind "${simulate[@]}" --smc-check=all --aspace-minaddr=0x100000000 \
    --cachegrind-out-file="$work/$1.$2.$3" dotnet "$dll" --loop "$2" "$1" "$3" >"$work/$1.$2.$3.log" 2>&1 \
    || { echo "cachegrind run failed: $1 $2 $3 operations (log below)" >&2; tail -20 "$work/$1.$2.$3.log" >&2; exit 1; }
  awk '/^summary:/ { print $2 }' "$work/$1.$2.$3"
}

echo "| provider | call | plain (hand-written for writes), instructions per operation | Helix | Helix − plain | Helix ÷ plain |"
echo "|---|---|---:|---:|---:|---:|"
declare -A misses=()
for provider in "${providers[@]}"; do
  declare -A per=()
  for kind in "${kinds[@]}"; do
    # the two lengths side by side: two cores, and each run is independent of the other
    count "$provider" "$kind" "$n1" >"$work/a" & first=$!
    count "$provider" "$kind" "$n2" >"$work/b" & second=$!
    failed=0
    wait "$first" || failed=1
    wait "$second" || failed=1
    [ "$failed" -eq 0 ] || exit 1
    per[$kind]=$(( ($(cat "$work/b") - $(cat "$work/a")) / (n2 - n1) ))
    if [ "${CACHES:-0}" = 1 ]; then # the simulated events per operation, by name, from the two runs' summaries
      misses[$provider $kind]=$(awk -v n="$((n2 - n1))" '
        FNR == 1 { sign = (sign == 0 ? -1 : 1) }
        /^events:/ { for (i = 2; i <= NF; i++) name[i] = $i }
        /^summary:/ { for (i = 2; i <= NF; i++) total[name[i]] += sign * $i }
        END { printf "%.0f | %.0f | %.0f | %.0f | %.0f", total["I1mr"] / n, total["D1mr"] / n, total["D1mw"] / n, total["Bcm"] / n, total["Bim"] / n }
      ' "$work/$provider.$kind.$n1" "$work/$provider.$kind.$n2")
    fi
  done
  for pair in "read, sync:plain:helix" "read, async:plain-async:helix-async" \
    "open and close, sync:open-plain:open-helix" "open and close, async:open-plain-async:open-helix-async" \
    "write, sync:write-plain:write-helix" "write, async:write-plain-async:write-helix-async" \
    "EF Core query, sync:ef-plain:ef-helix" "EF Core query, sync, plain EF with no-op interceptors as the baseline:ef-intercepted:ef-helix" \
    "EF Core query, sync, pooled contexts:ef-plain-pooled:ef-helix-pooled" \
    "EF Core query, sync, pooled contexts, plain EF with no-op interceptors as the baseline:ef-intercepted-pooled:ef-helix-pooled"; do
    IFS=: read -r label plain helix <<<"$pair"
    p=${per[$plain]:-}; h=${per[$helix]:-}
    [ -z "$p" ] || [ -z "$h" ] && continue
    echo "| $provider | $label | $p | $h | $((h - p)) | $(awk -v h="$h" -v p="$p" 'BEGIN { printf "%.3f", h / p }') |"
  done
done

if [ "${CACHES:-0}" = 1 ]; then
  echo
  echo "| provider | kind | first-level instruction-cache misses | data-cache read misses | data-cache write misses | conditional branches mispredicted | indirect branches mispredicted |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for provider in "${providers[@]}"; do
    for kind in "${kinds[@]}"; do
      echo "| $provider | $kind | ${misses[$provider $kind]} |"
    done
  done
fi
