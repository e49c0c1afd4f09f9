#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# install_test.sh BUILD_DIR SOURCE_DIR CMAKE CXX [LAUNCHER] [PROGRAMS]
#
# Installs the build into a temporary prefix and uses it as an outsider would:
#  1. the installed libplexus.so exports the public API only;
#  2. a one-file program builds with `pkg-config --cflags --libs plexus` and runs;
#  3. every example builds as a stand-alone project with find_package(Plexus), and
#     basic_call runs;
#  4. the installed programs (plexusctl, plexus-monitor when the monitor is built) start
#     from the prefix with no LD_LIBRARY_PATH: their RPATH finds libplexus.
# The prefix is removed on exit, also when a step fails.
set -euo pipefail

build=$1 source=$2 cmake=$3 cxx=$4 launcher=${5:-} programs=${6:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/plexus-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

step() { printf '== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "install into $prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" || {
    cat "$work/install.log"; fail "cmake --install"; }
lib=$(find "$prefix" -name 'libplexus.so.*.*' -type f | head -n 1)
[ -n "$lib" ] || fail "no libplexus.so.* under $prefix"
libdir=$(dirname "$lib")
for header in plexus.h node.h reply.h plexus_export.h; do
    [ -f "$prefix/include/plexus/$header" ] || fail "header $header not installed"
done
if find "$prefix/include" -name '*_p.h' | grep -q .; then
    fail "private headers installed: $(find "$prefix/include" -name '*_p.h')"
fi

step "exported symbols: public API only"
# Every defined dynamic symbol, demangled. What the public headers declare lives in the
# Plexus namespace under a public class or a public free function; moc adds the
# staticMetaObject and meta-call members of public QObjects and gadgets, and the compiler
# the vtables and typeinfo of public classes.
public='Payload|Message|Sender|Reply|Node|WorkerInfo|PeerInfo'
functions='call|local|cluster|broadcast|newMessage|send|sendTo|reply|registerOpcode|unregisterOpcode|opcode|setOpcodeName|opcodeName|registerHandler|unregisterHandler|setMasterHandler|setWorkerHandler|exec|maxMessageLength|setMaxMessageLength|version|operator<<|qt_getEnumMetaObject|qt_getEnumName|staticMetaObject'
nm -D --defined-only "$lib" | awk '{ print $NF }' | c++filt >"$work/symbols.txt"
grep -E '(^|[^:])Plexus::' "$work/symbols.txt" \
    | grep -vE "^((vtable|typeinfo|typeinfo name|non-virtual thunk to) for )?Plexus::($public)(::|$| )" \
    | grep -vE "^Plexus::($functions)\(|^Plexus::staticMetaObject$|^Plexus::(Introspection::)?operator<<\(" \
    | grep -vE "^QDebug Plexus::(Introspection::)?operator<<|^Plexus::[A-Za-z]+ Plexus::($functions)\(|^[^ ]+ Plexus::($functions)\(" \
    >"$work/internal.txt" || true
# Anything else that names an internal class (codec, crypto, router, links, ...) is a leak.
grep -E '(^|for )Plexus::[A-Za-z]*(Private|Reader|Crypto|Frame|Router|Link|Registry|Handlers|ForkServer|Supervisor|Wire|Record|Handshake|Dispatcher|Pending|Stats)[A-Za-z]*(::|$)' \
    "$work/symbols.txt" >>"$work/internal.txt" || true
if [ -s "$work/internal.txt" ]; then
    sort -u "$work/internal.txt" | head -n 40 >&2
    fail "the installed library exports $(sort -u "$work/internal.txt" | wc -l) internal symbols"
fi
printf '   %s symbols exported, none internal\n' "$(wc -l <"$work/symbols.txt")"

step "dependencies: nats.c is loaded when used, not linked"
# Linking nats.c (and through it OpenSSL) cost every Plexus process about 1.8 MiB of RSS,
# workers included; the NATS engine loads it at run time (lib/src/cluster/nats/natsapi_p.h).
needed=$(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
grep -qE 'libnats|libssl|libcrypto\.so' <<<"$needed" && fail "libplexus links $needed"
grep -q 'Requires.private:.*libnats' "$libdir/pkgconfig/plexus.pc" && fail "plexus.pc requires libnats"
printf '   NEEDED: %s\n' "$needed"

step "pkg-config: a one-file program"
export PKG_CONFIG_PATH="$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs plexus) || fail "pkg-config --cflags --libs plexus"
grep -q "$prefix" <<<"$flags" || fail "pkg-config flags do not point into the prefix: $flags"
# shellcheck disable=SC2086
$launcher "$cxx" -std=c++20 -fPIC -o "$work/pc_program" "$(dirname "$0")/main.cpp" $flags \
    || fail "the pkg-config build failed"
out=$(LD_LIBRARY_PATH="$libdir" timeout 30 "$work/pc_program") || fail "pc_program exited with $?"
[ "$out" = "reply pong:ping error=0" ] || fail "pc_program printed: $out"
printf '   %s\n' "$out"

step "find_package: every example as its own project"
for dir in "$source"/examples/*/; do
    name=$(basename "$dir")
    [ -f "$dir/CMakeLists.txt" ] || continue
    "$cmake" -S "$dir" -B "$work/build-$name" -G Ninja -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
        ${launcher:+-DCMAKE_CXX_COMPILER_LAUNCHER="$launcher"} >"$work/$name.log" 2>&1 \
        || { cat "$work/$name.log"; fail "configuring $name against the install"; }
    "$cmake" --build "$work/build-$name" >>"$work/$name.log" 2>&1 \
        || { cat "$work/$name.log"; fail "building $name against the install"; }
    grep -q "$prefix" "$work/build-$name/CMakeCache.txt" || fail "$name did not use the install"
    printf '   %s: built\n' "$name"
done
out=$(timeout 30 "$work/build-basic_call/basic_call") || fail "basic_call exited with $?"
[ "$(grep -c 'Request complete' <<<"$out")" = 2 ] || fail "basic_call printed: $out"
printf '   basic_call: ran\n'
step "installed programs run from the prefix"
# Moved away from where it was installed, so that only a relative RPATH can find the library.
mv "$prefix" "$work/moved"
prefix="$work/moved"
for program in $programs; do
    exe="$prefix/bin/$program"
    [ -x "$exe" ] || fail "$program was not installed into bin/"
    runpath=$(readelf -d "$exe" | sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p')
    case "$runpath" in
        *'$ORIGIN'*) ;;
        *) fail "$program has no \$ORIGIN-relative RUNPATH (\"$runpath\")" ;;
    esac
    out=$(env -u LD_LIBRARY_PATH QT_QPA_PLATFORM=offscreen timeout 30 "$exe" --version 2>&1) \
        || fail "$program --version exited with $?: $out"
    grep -q "$(sed -n 's/^ *VERSION \([0-9.]*\)$/\1/p' "$source/CMakeLists.txt")" <<<"$out" \
        || fail "$program --version printed: $out"
    printf '   %s: %s\n' "$program" "$out"
done
step "ok"
