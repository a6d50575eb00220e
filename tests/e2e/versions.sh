# Sourced by run.sh. Tracebacks printed by every CPython from 3.6 to 3.13 (real
# output, tests/data/wild/make_versions.py), each with an oracle read from the
# exception objects before the interpreter printed them: pycorr's reading of the
# text must give the same chain (relations, types, the printed text after the type)
# and the same group members. A message line without indent and a note print alike,
# so the text after the type is compared whole: the message, then the notes.
name="versions: 3.6 to 3.13, as printed, against the exception objects"
V=$ROOT/tests/data/wild/versions
nver=0
for txt in "$V"/*.txt; do
    base=${txt%.txt}
    got=$("$PYCORR" events "$txt" 2>/dev/null | jq -sc '[.[] | select(.kind == "exception")] | last |
        [.exception.chain[] | {relation, type: (.type | sub("^__main__\\."; "")),
         text: ([.message // ""] + (.notes // []) | join("\n")),
         members: (if .group then [.group.exceptions[] | .[-1].type] else null end)}]')
    want=$(jq -c '[.[] | {relation, type: (.type | sub("^__main__\\."; "")),
         text: ([.message // ""] + (.notes // []) | join("\n")), members: (.members // null)}]' "$base.expect.json")
    expect_eq "$got" "$want" "$(basename "$base")"
    nver=$((nver + 1))
done
expect_eq "$([ "$nver" -ge 100 ] && echo enough)" enough "scenarios read ($nver)"
