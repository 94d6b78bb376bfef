#!/bin/sh
# scripts/lint.sh: what review should not have to check (STYLE.md section 10, curl's checksrc).
#
# Checks every .c and .h under src/: (a) no banned calls (sprintf vsprintf strcpy strcat strncpy
# strtok atoi gets system popen), found as a word followed by "(" after comments, string and
# character literals are blanked out; (b) the file opens with a /* comment saying what it is
# for; (c) no .c file is over 800 lines. With --format it also runs clang-format --dry-run on
# src/ and tests/unit/. Prints one "file:line: finding" per problem; exits 1 if there is any.
set -u
cd "$(dirname "$0")/.." || exit 2

check_format=0
[ "${1:-}" = "--format" ] && check_format=1

files=$(find src -type f \( -name '*.c' -o -name '*.h' \) | sort)
[ -n "$files" ] || { echo "lint: no source files under src/"; exit 0; }
found=0

# (a) Banned calls. perl keeps newlines while blanking comments and literals, so line numbers
# stay right.
banned=$(printf '%s\n' $files | xargs perl -0777 -ne '
    my $f = $ARGV;
    s{(/\*.*?\*/)|(//[^\n]*)|("(?:\\.|[^"\\\n])*")|('"'"'(?:\\.|[^'"'"'\\\n])*'"'"')}{
        defined $1 ? ($1 =~ tr/\n//cdr) : defined $2 ? "" : defined $3 ? "\"\"" : "0"
    }gse;
    my $n = 0;
    for my $line (split /\n/, $_, -1) {
        $n++;
        while ($line =~ /\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|gets|system|popen)\s*\(/g) {
            print "$f:$n: banned call $1()\n";
        }
    }
    close ARGV;
')
if [ -n "$banned" ]; then
    printf '%s\n' "$banned"
    found=1
fi

for f in $files; do
    # (b) A header comment first (leading blank lines allowed).
    first=$(grep -m1 -v '^[[:space:]]*$' "$f" | sed 's/^[[:space:]]*//')
    case "$first" in
    '/*'*) ;;
    *)
        echo "$f:1: file does not open with a /* comment saying what it is for"
        found=1
        ;;
    esac
    # (c) File length.
    case "$f" in
    *.c)
        lines=$(wc -l <"$f")
        if [ "$lines" -gt 800 ]; then
            echo "$f:$lines: $lines lines, over the 800-line limit (split by responsibility)"
            found=1
        fi
        ;;
    esac
done

if [ "$check_format" = 1 ]; then
    if command -v clang-format >/dev/null 2>&1; then
        fmt_files=$(find src tests/unit -type f \( -name '*.c' -o -name '*.h' \) | sort)
        for f in $fmt_files; do
            if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
                echo "$f: not clang-formatted (run: clang-format -i $f)"
                found=1
            fi
        done
    else
        echo "lint: clang-format not installed; format not checked"
    fi
fi

if [ "$found" = 0 ]; then
    echo "lint: ok ($(printf '%s\n' $files | wc -l | tr -d ' ') files)"
fi
exit "$found"
