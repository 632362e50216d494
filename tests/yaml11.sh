#!/bin/sh
# make check: the resolved spec (nnrun check --resolved) of every spec in specs/ and
# tests/specs/good/ reads back under YAML 1.1 (PyYAML, /usr/bin/python3) with every number a
# number: a float written "1e-05" is a string to a YAML 1.1 reader.  Exit 77 (skipped) when
# PyYAML is missing, except under CI=true, where a part that cannot run is a failure.
src=${NNRUN_SRCDIR:-.}
bin=${NNRUN_BIN:-./nnrun}
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import yaml' 2>/dev/null; then
    echo "yaml11.sh: PyYAML is not installed for $py (Debian: python3-yaml)" >&2
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
tmp=$(mktemp -d /tmp/nnrun-yaml11-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
for spec in "$src"/specs/*.yaml "$src"/tests/specs/good/*.yaml; do
    name=$(basename "$spec" .yaml)
    # a spec this build cannot resolve (a plugin, a data file) is test_emit's business
    "$bin" check --resolved "$spec" >"$tmp/out" 2>/dev/null || continue
    mv "$tmp/out" "$tmp/$name.yaml"
    n=$((n + 1))
done
[ "$n" -ge 10 ] || { echo "yaml11.sh: only $n specs resolved" >&2; exit 1; }
"$py" - "$tmp"/*.yaml <<'PY'
import re, sys, yaml
# the YAML 1.2 core schema's numbers: what nnrun meant as a number
num = re.compile(r'^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$|^[-+]?\.(inf|nan)$')
bad = []
count = 0
def walk(n):
    global count
    if isinstance(n, yaml.MappingNode):
        for k, v in n.value: walk(k); walk(v)
    elif isinstance(n, yaml.SequenceNode):
        for v in n.value: walk(v)
    elif n.style is None and num.match(n.value):  # a plain scalar nnrun wrote as a number
        count += 1
        if n.tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
            bad.append(f"{n.start_mark.name}:{n.start_mark.line + 1}: {n.value!r} reads as "
                       f"{n.tag.split(':')[-1]} in YAML 1.1")
for f in sys.argv[1:]:
    with open(f) as fh:
        walk(yaml.compose(fh, Loader=yaml.SafeLoader))
for b in bad: print(b)
if bad: sys.exit(1)
print(f"yaml11: {len(sys.argv) - 1} resolved specs, {count} numbers, all numbers in YAML 1.1")
PY
