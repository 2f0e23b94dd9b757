#!/usr/bin/env bash
# Prints which cardperso library uses which (the link graph CMake knows), one module a line:
#   cardperso_proto -> cardperso_common
# Configures a scratch build directory (nothing is compiled) and reads CMake's graphviz output.
# Usage: bash scripts/module-graph.sh [--programs]   (--programs: the executables' links too)
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cat > "$scratch/CMakeGraphVizOptions.cmake" <<'OPT'
set(GRAPHVIZ_EXTERNAL_LIBS FALSE)
set(GRAPHVIZ_GENERATE_PER_TARGET FALSE)
set(GRAPHVIZ_GENERATE_DEPENDERS FALSE)
OPT
(cd "$scratch" && cmake -S "$OLDPWD" -B . -G Ninja -DCARDPERSO_TESTS=OFF -DCARDPERSO_BENCH=OFF \
  --graphviz=graph.dot > /dev/null)
python3 - "$scratch/graph.dot" "${1:-}" <<'PY'
import re, sys
names, edges = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'\s*"(node\d+)" \[ label = "([^"]+)"', line)
    if m: names[m.group(1)] = m.group(2)
    m = re.match(r'\s*"(node\d+)" -> "(node\d+)"', line)
    if m: edges.setdefault(m.group(1), set()).add(m.group(2))
show = lambda n: n.startswith('cardperso_') or sys.argv[2] == '--programs'
for node, label in sorted(names.items(), key=lambda kv: kv[1]):
    if not show(label): continue
    deps = sorted(names[d] for d in edges.get(node, ()) if names[d].startswith('cardperso_'))
    print(f"{label} -> {', '.join(deps) if deps else '(none)'}")
PY
