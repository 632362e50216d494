#!/usr/bin/env bash
# The layering as a test: reads every #include "..." of every .c and .h under src/ and
# include/, and fails on
#   - an arrow between components that tests/layering.allow does not list (an upward
#     include: kernels including ir, exec including train, ...),
#   - a cycle between components (in the includes, or in the allow list itself),
#   - a private header (*_int.h) included from outside its own folder — nn_trainer's
#     fields (train/trainer_int.h) are visible in train/ only.
# A component is a folder: parser, ir, ir/ops, kernels, runtime/<subsystem>, cli
# (src/nnrun.c), libnnrun (src/api: the C API), api (include/).  docs/ARCHITECTURE.md draws the same picture.
# Usage: tests/layering.sh [ALLOW_FILE]   (run by `make check`; exit 0 or 1)
set -uo pipefail
cd "${NNRUN_SRCDIR:-$(dirname "$0")/..}" || exit 1
allow=${1:-tests/layering.allow}
[ -f "$allow" ] || { echo "layering: no $allow" >&2; exit 1; }

component() {
    case $1 in
    src/nnrun.c) echo cli ;;
    src/parser/*) echo parser ;;
    src/ir/ops/*) echo ir/ops ;;
    src/ir/*) echo ir ;;
    src/kernels/*) echo kernels ;;
    src/runtime/*/*) local f=${1#src/}; echo "${f%/*}" ;;
    src/api/*) echo libnnrun ;;
    include/*) echo api ;;
    *) echo "?$1" ;;
    esac
}

# the allowed arrows, "FROM TO" per line; FROM runtime/* stands for each runtime folder
runtime_dirs=$(cd src && ls -d runtime/*/ | sed 's#/$##')
declare -A ok
allowed_edges=""
while read -r from arrow rest; do
    [ -z "$from" ] || [ "${from:0:1}" = "#" ] && continue
    if [ "$arrow" != "->" ]; then
        echo "layering: $allow: '$from $arrow $rest' is no 'FROM -> TO ...' line" >&2
        exit 1
    fi
    froms=$from
    [ "$from" = "runtime/*" ] && froms=$runtime_dirs
    for f in $froms; do
        for t in $rest; do
            ok["$f $t"]=1
            allowed_edges+="$f $t"$'\n'
        done
    done
done <"$allow"

fail=0 files=0 includes=0
edges=""
while IFS= read -r file; do
    files=$((files + 1))
    from=$(component "$file")
    dir=${file%/*}
    while IFS=: read -r line name; do
        includes=$((includes + 1))
        if [ -f "src/$name" ]; then
            target=src/$name
        elif [ -f "include/$name" ]; then
            target=include/$name
        elif [ -f "$dir/$name" ]; then
            target=$dir/$name
        else
            continue # generated (config.h)
        fi
        to=$(component "$target")
        case ${target##*/} in
        *_int.h)
            if [ "${target%/*}" != "$dir" ]; then
                echo "$file:$line: includes the private header $name of ${target%/*}/ (only" \
                    "files in that folder may)"
                fail=1
            fi
            ;;
        esac
        [ "$from" = "$to" ] && continue
        edges+="$from $to"$'\n'
        if [ -z "${ok["$from $to"]:-}" ]; then
            echo "$file:$line: includes $name: $from -> $to is not an allowed arrow ($allow)"
            fail=1
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
        sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
done < <(find src include -name '*.[ch]' | sort)

[ "$files" -gt 0 ] || { echo "layering: no source files found" >&2; exit 1; }

# a cycle between components: tsort names the components of a loop
for what in includes allow; do
    list=$edges
    [ "$what" = allow ] && list=$allowed_edges
    if ! printf '%s' "$list" | sort -u | tsort >/dev/null 2>"${TMPDIR:-/tmp}/layering.$$"; then
        echo "layering: a cycle between components in the $what:"
        grep -v 'input contains a loop' "${TMPDIR:-/tmp}/layering.$$" | sed 's/^tsort: /  /' | awk '!seen[$0]++'
        fail=1
    fi
    rm -f "${TMPDIR:-/tmp}/layering.$$"
done

arrows=$(printf '%s' "$edges" | sort -u | grep -c .)
if [ "$fail" -ne 0 ]; then
    echo "layering: FAILED ($files files, $includes includes)"
    exit 1
fi
echo "layering: $files files, $includes includes, $arrows arrows between components, all allowed, no cycle"
