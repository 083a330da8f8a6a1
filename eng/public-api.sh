#!/usr/bin/env bash
# Adds the public symbols the build reports as undeclared (RS0016) to each project's PublicAPI.Unshipped.txt, and the
# shipped ones it no longer finds (RS0017) as *REMOVED* lines, so that a deliberate change to the public API is one
# command and shows in review. Run it, then read the diff.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dotnet build Helix.Data.sln -c Release --no-incremental 2>&1 | grep -E "error RS001[67]" | sort -u > /tmp/helix-rs0016.txt
python3 - <<'PY'
import re, collections
found = collections.defaultdict(set)
for line in open('/tmp/helix-rs0016.txt'):
    m = re.search(r"Symbol '(.*)' is not part of the declared public API.*\[(.*?)\]$", line.strip())
    if m:
        found[m.group(2).rsplit('/', 1)[0]].add(m.group(1))
    m = re.search(r"^(.*)/PublicAPI\.Shipped\.txt\(\d+,\d+\): error RS0017: Symbol '(.*)' is part of the declared API", line.strip())
    if m:
        found[m.group(1)].add('*REMOVED*' + m.group(2))
for folder, symbols in found.items():
    path = folder + '/PublicAPI.Unshipped.txt'
    existing = [l for l in open(path).read().splitlines()[1:] if l]
    merged = sorted(set(existing) | symbols, key=lambda s: s.replace('~', ''))
    open(path, 'w').write('#nullable enable\n' + ''.join(s + '\n' for s in merged))
    print(f"{path}: {len(symbols)} added")
PY
