#!/bin/sh
# prep-apply — verifies and applies the PREP package that LATEST names, for {{INSTITUTE}}.
# Written by `prep-push kit {{DIFUSOR_ID}}`. Needs only a POSIX sh and utilities, coreutils, tar,
# gzip (unzip for zip packages) and OpenSSH >= 8.1 ssh-keygen. Never needs root.
#
#   sh prep-apply [--dir REMOTE_DIR] [--keep N] [--verify-all]
#
# Order: lock, LATEST, SHA-256, signature, anti-rollback, archive listing (no "..", absolute paths,
# links or devices), MANIFEST.json and its signature — all BEFORE anything is extracted; then a
# staging release (a delta on hard links of its base release), every file checked against
# MANIFEST.json, one atomic switch of `current`, APPLIED, and old releases pruned.
# Exit 0: `current` is the newest valid cut. 1: refused or failed; `current` and APPLIED are
# unchanged and one line on stderr says why. 2: usage.
#
# Notices: while the institute has this difusor blocked, LATEST may name a notice package,
# `<package name of cut C>-aviso.tar.gz`, whose index.html is the notice and which holds no
# results. It is applied like any other package, as release `C-aviso` (APPLIED says `C-aviso`).
# Ordering compares cut ids with `-aviso` stripped: an older cut is refused (anti-rollback); the
# same name as APPLIED is a no-op; for the same cut id the notice replaces cut C's results, and
# cut C's results (after the unblock) replace the notice. A notice's signed MANIFEST.json must name
# cut C and carry the "notice" marker (a results package must not); a notice is never a delta.

set -u
umask 022
LC_ALL=C
export LC_ALL

PRINCIPAL='{{INSTITUTE}}'
NAMESPACE='prep-push'
APPLY_DIR='{{APPLY_DIR}}'
KEEP='{{KEEP_RELEASES}}'
VERIFY_ALL=0

usage() {
  echo "usage: sh prep-apply [--dir REMOTE_DIR] [--keep N] [--verify-all]" >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || usage; APPLY_DIR=$2; shift 2 ;;
    --dir=*) APPLY_DIR=${1#--dir=}; shift ;;
    --keep) [ $# -ge 2 ] || usage; KEEP=$2; shift 2 ;;
    --keep=*) KEEP=${1#--keep=}; shift ;;
    --verify-all) VERIFY_ALL=1; shift ;;
    -h|--help) echo "usage: sh prep-apply [--dir REMOTE_DIR] [--keep N] [--verify-all]"; exit 0 ;;
    *) echo "prep-apply: unknown argument: $1" >&2; usage ;;
  esac
done
case $KEEP in ''|*[!0-9]*) echo "prep-apply: --keep takes a whole number (0 = keep all), got: $KEEP" >&2; exit 2 ;; esac
case $APPLY_DIR in /*) ;; *) echo "prep-apply: --dir takes an absolute path, got: $APPLY_DIR" >&2; exit 2 ;; esac

KIT_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || { echo "prep-apply: cannot find my own folder" >&2; exit 2; }
SIGNERS=$KIT_DIR/allowed_signers
DIR=${APPLY_DIR%/}
RELEASES=$DIR/releases
LOCK=$DIR/.prep-apply.lock
STAGING=''
LOCKED=0
META=''

# --- ending --------------------------------------------------------------------------------------

cleanup() {
  if [ -n "$STAGING" ] && [ -d "$STAGING" ]; then rm -rf -- "$STAGING"; fi
  if [ -n "$META" ] && [ -d "$META" ]; then rm -rf -- "$META"; fi
  rm -f -- "$DIR/.current.prep-apply.$$" "$DIR/.APPLIED.prep-apply.$$"
  if [ "$LOCKED" = 1 ]; then rm -rf -- "$LOCK"; LOCKED=0; fi
}

fail() {
  echo "prep-apply: $*" >&2
  cleanup
  exit 1
}

trap 'cleanup' EXIT
trap 'fail "interrupted; current and APPLIED are unchanged"' INT TERM HUP

# --- lock: mkdir is atomic; a lock whose process is gone is taken over ---------------------------

lock_holder_alive() {
  holder=$(cat -- "$LOCK/pid" 2>/dev/null) || holder=''
  case $holder in
    ''|*[!0-9]*)
      # No pid yet: another run is between mkdir and writing it, unless the lock is old.
      [ -z "$(find "$LOCK" -prune -mmin +10 2>/dev/null)" ]
      return ;;
  esac
  kill -0 "$holder" 2>/dev/null || [ -d "/proc/$holder" ]
}

take_lock() {
  [ -d "$DIR" ] || fail "$DIR does not exist; pass the difusor's folder with --dir"
  if mkdir -- "$LOCK" 2>/dev/null; then LOCKED=1; echo $$ > "$LOCK/pid"; return; fi
  if lock_holder_alive; then
    fail "another prep-apply (pid ${holder:-unknown}) is applying in $DIR; nothing was done"
  fi
  rm -rf -- "$LOCK"
  mkdir -- "$LOCK" 2>/dev/null || fail "cannot create the lock $LOCK (another prep-apply started, or $DIR is not writable)"
  LOCKED=1
  echo $$ > "$LOCK/pid"
}

# --- helpers -------------------------------------------------------------------------------------

# The last YYYYMMDD_HHmm in a name.
cut_in_name() {
  printf '%s\n' "$1" | sed -n 's/.*\([0-9]\{8\}_[0-9]\{4\}\).*/\1/p'
}

# ssh-keygen -Y verify FILE against FILE.sig, with this kit's allowed_signers.
signature_ok() {
  ssh-keygen -Y verify -f "$SIGNERS" -I "$PRINCIPAL" -n "$NAMESPACE" -s "$2" < "$1" > /dev/null 2>&1
}

# MANIFEST.json → "sha256  path" lines (the format is fixed: prep-push writes it, 2-space indented).
manifest_checklist() {
  awk '
    /^      "path": "/ { p = $0; sub(/^      "path": "/, "", p); sub(/",$/, "", p); next }
    /^      "sha256": "/ { h = $0; sub(/^      "sha256": "/, "", h); sub(/"$/, "", h); print h "  " p }
  ' "$1"
}

manifest_cut() {
  sed -n 's/^    "id": "\([0-9]\{8\}_[0-9]\{4\}\)",\{0,1\}$/\1/p' "$1" | head -n 1
}

list_archive() {
  case $FORMAT in
    tar.gz) gzip -dc -- "$1" | tar -tf - 2>/dev/null ;;
    zip) unzip -Z1 -- "$1" 2>/dev/null ;;
  esac
}

list_archive_types() {
  case $FORMAT in
    tar.gz) gzip -dc -- "$1" | tar -tvf - 2>/dev/null | cut -c1 ;;
    zip) unzip -Z -- "$1" 2>/dev/null | sed -n '/^[-a-z?]\{10\} /p' | cut -c1 ;;
  esac
}

extract_archive() {
  case $FORMAT in
    tar.gz) gzip -dc -- "$1" | tar -xf - -C "$2" ;;
    zip) unzip -q -o -- "$1" -d "$2" ;;
  esac
}

extract_one() {
  case $FORMAT in
    tar.gz) gzip -dc -- "$1" | tar -xOf - "$2" ;;
    zip) unzip -p -- "$1" "$2" ;;
  esac
}

# --- the run -------------------------------------------------------------------------------------

[ -r "$SIGNERS" ] || { echo "prep-apply: $SIGNERS is missing; keep allowed_signers next to prep-apply" >&2; exit 2; }
command -v ssh-keygen > /dev/null 2>&1 || { echo "prep-apply: ssh-keygen not found; install OpenSSH >= 8.1" >&2; exit 2; }

take_lock

# What killed runs left: staging releases and temporary links (we hold the lock, so none is live).
for leftover in "$RELEASES"/.staging-* "$DIR"/.current.prep-apply.* "$DIR"/.APPLIED.prep-apply.*; do
  if [ -e "$leftover" ] || [ -L "$leftover" ]; then rm -rf -- "$leftover"; fi
done

[ -f "$DIR/LATEST" ] || fail "no LATEST in $DIR: nothing has been delivered yet"
NAME=$(head -n 1 -- "$DIR/LATEST" | tr -d '\r')
case $NAME in
  ''|.*|*/*|*[!A-Za-z0-9._-]*) fail "LATEST holds \"$NAME\", which is not a package name; wait for the next cut" ;;
esac
PKG=$DIR/$NAME
[ -f "$PKG" ] || fail "LATEST names $NAME, which is not in $DIR (upload not finished or removed); wait for the next cut"
case $NAME in
  *.tar.gz) FORMAT=tar.gz ;;
  *.zip) FORMAT=zip ;;
  *) fail "LATEST names $NAME, which is neither .tar.gz nor .zip" ;;
esac
BASE=$(printf '%s\n' "$NAME" | sed -n 's/.*\.from-\([0-9]\{8\}_[0-9]\{4\}\)\.[a-z.]*$/\1/p')
CUT=$(cut_in_name "$(printf '%s\n' "$NAME" | sed 's/\.from-[0-9]\{8\}_[0-9]\{4\}\.[a-z.]*$//')")
[ -n "$CUT" ] || fail "LATEST names $NAME, which holds no cut id (YYYYMMDD_HHmm)"
# A notice package (see the header): its release is `<cut>-aviso`, beside the cut's results. Its
# name never ends in `.from-<cut>.<ext>`, so it is never taken for a delta.
NOTICE=0
KIND='cut'
RELEASE=$CUT
case $NAME in
  *-aviso.tar.gz|*-aviso.zip) NOTICE=1; KIND=notice; RELEASE=$CUT-aviso ;;
esac

APPLIED=''
if [ -f "$DIR/APPLIED" ]; then APPLIED=$(head -n 1 -- "$DIR/APPLIED" | tr -d '\r'); fi
if [ -n "$APPLIED" ]; then
  if [ "$RELEASE" = "$APPLIED" ]; then echo "prep-apply: $KIND $RELEASE is already applied in $DIR; nothing to do"; exit 0; fi
  # Same cut id, other kind (results <-> notice): allowed either way; only an older cut is refused.
  newest=$(printf '%s\n%s\n' "$CUT" "${APPLIED%-aviso}" | sort | tail -n 1)
  [ "$newest" = "$CUT" ] || fail "refusing rollback: LATEST names cut $CUT, older than the applied $APPLIED"
fi

# Integrity, then authenticity, of the exact bytes on disk.
[ -f "$PKG.sha256" ] || fail "$NAME.sha256 is missing in $DIR; wait for the next cut"
expected=$(cut -d ' ' -f 1 < "$PKG.sha256")
actual=$(sha256sum < "$PKG" | cut -d ' ' -f 1)
if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then fail "$NAME does not match $NAME.sha256 (truncated or altered); not applied"; fi
[ -f "$PKG.sig" ] || fail "$NAME.sig is missing in $DIR; an unsigned package is never applied"
signature_ok "$PKG" "$PKG.sig" || fail "$NAME.sig does not verify with $SIGNERS (foreign key or altered package); not applied"

# The archive's entries: plain files and folders under relative paths only, even when signed.
listing=$(list_archive "$PKG") || fail "cannot list $NAME (damaged archive); not applied"
bad=$(printf '%s\n' "$listing" | grep -E '^/|(^|/)\.\.(/|$)|[\\]' | head -n 1)
[ -z "$bad" ] || fail "$NAME holds an entry escaping the release ($bad); not applied"
types=$(list_archive_types "$PKG" | sort -u | tr -d '\n') || fail "cannot list $NAME (damaged archive); not applied"
case $types in
  *[!d-]*) fail "$NAME holds links or devices (entry types: $types); not applied" ;;
esac

# Its MANIFEST.json, signed too, names the cut: the name of the file proves nothing.
# Scratch files (lists, the manifest) live outside DIR, so a full DIR still gets a clear message.
META=$(mktemp -d "${TMPDIR:-/tmp}/prep-apply.XXXXXX") || fail "cannot create a temporary folder in ${TMPDIR:-/tmp}"
extract_one "$PKG" MANIFEST.json > "$META/MANIFEST.json" 2>/dev/null || fail "$NAME holds no MANIFEST.json; not applied"
extract_one "$PKG" MANIFEST.json.sig > "$META/MANIFEST.json.sig" 2>/dev/null || fail "$NAME holds no MANIFEST.json.sig; not applied"
signature_ok "$META/MANIFEST.json" "$META/MANIFEST.json.sig" || fail "MANIFEST.json in $NAME does not verify with $SIGNERS; not applied"
manifest_cut_id=$(manifest_cut "$META/MANIFEST.json")
[ "$manifest_cut_id" = "$CUT" ] || fail "$NAME is named for cut $CUT but its MANIFEST.json is cut ${manifest_cut_id:-unknown}; not applied"
# The signed manifest, not the file name, says whether this is a notice: both must agree.
if grep -q '^  "notice": {' "$META/MANIFEST.json"; then marked=1; else marked=0; fi
if [ "$NOTICE" = 1 ] && [ "$marked" = 0 ]; then fail "$NAME is named as a notice but its MANIFEST.json carries no notice marker; not applied"; fi
if [ "$NOTICE" = 0 ] && [ "$marked" = 1 ]; then fail "$NAME is named as results but its MANIFEST.json is a notice; not applied"; fi
manifest_checklist "$META/MANIFEST.json" > "$META/checklist" 2>/dev/null || fail "cannot write in $META (disk full?)"
grep -q '[\\]' "$META/checklist" && fail "MANIFEST.json of $CUT has a file name prep-apply does not handle (backslash or escaped character)"
{ cut -c67- "$META/checklist"; echo MANIFEST.json; echo MANIFEST.json.sig; } | sort > "$META/expected-files"

if [ -e "$DIR/current" ] && [ ! -L "$DIR/current" ]; then
  fail "$DIR/current is a real folder, not a link; move it away (prep-apply makes current a link to releases/<cut>)"
fi
mkdir -p -- "$RELEASES" || fail "cannot create $RELEASES"
STAGING=$RELEASES/.staging-$RELEASE.$$
if [ -n "$BASE" ]; then
  [ "$BASE" = "$APPLIED" ] || fail "$NAME is a delta from $BASE, but APPLIED is ${APPLIED:-nothing}; a full package comes at the next cut"
  [ -d "$RELEASES/$BASE" ] || fail "base release $BASE of $NAME is gone from $RELEASES; a full package comes at the next cut"
  if ! signature_ok "$RELEASES/$BASE/MANIFEST.json" "$RELEASES/$BASE/MANIFEST.json.sig"; then
    fail "base release $BASE has no valid signed MANIFEST.json; a full package comes at the next cut"
  fi
  cp -al -- "$RELEASES/$BASE" "$STAGING" || fail "cannot hard-link base release $BASE into staging (disk full?)"
  rm -f -- "$STAGING/MANIFEST.json" "$STAGING/MANIFEST.json.sig"
  # Never write through a hard link into the base release: unlink what the delta replaces first.
  printf '%s\n' "$listing" | while IFS= read -r entry; do
    case $entry in */|'') ;; *) if [ ! -d "$STAGING/$entry" ]; then rm -f -- "$STAGING/$entry"; fi ;; esac
  done
  # Files absent from the new MANIFEST.json are deleted.
  manifest_checklist "$RELEASES/$BASE/MANIFEST.json" | cut -c67- | sort > "$META/base-files"
  comm -23 "$META/base-files" "$META/expected-files" | while IFS= read -r gone; do
    rm -f -- "$STAGING/$gone"
    # And each folder it leaves empty, as a full package would not have it.
    parent=$gone
    while case $parent in */*) true ;; *) false ;; esac; do
      parent=${parent%/*}
      rmdir -- "$STAGING/$parent" 2>/dev/null || break
    done
  done
  extract_archive "$PKG" "$STAGING" > /dev/null 2>&1 || fail "extracting $NAME failed (disk full or damaged archive); not applied"
else
  mkdir -- "$STAGING" || fail "cannot create the staging release in $RELEASES"
  extract_archive "$PKG" "$STAGING" > /dev/null 2>&1 || fail "extracting $NAME failed (disk full or damaged archive); not applied"
fi

# Exactly the files MANIFEST.json lists, each with its SHA-256.
( cd "$STAGING" && find . ! -type f ! -type d | head -n 1 ) | grep -q . && fail "the extracted release holds something that is not a file or folder; not applied"
( cd "$STAGING" && find . -type f | sed 's|^\./||' | sort ) > "$META/found-files" || fail "cannot list the staging release"
cmp -s "$META/found-files" "$META/expected-files" ||
  fail "the files of $NAME differ from its MANIFEST.json (first difference: $(comm -3 "$META/found-files" "$META/expected-files" | head -n 1 | tr -d '\t')); not applied"
if [ -n "$BASE" ] && [ "$VERIFY_ALL" = 0 ]; then
  # Linked files were hashed when the base release was applied: those listed with the same SHA-256
  # in the base's signed MANIFEST.json are not hashed again. New, changed, and every file the delta
  # carries are.
  manifest_checklist "$RELEASES/$BASE/MANIFEST.json" > "$META/base-checklist"
  printf '%s\n' "$listing" > "$META/in-delta"
  awk 'FNR == 1 { f++ } f == 1 { base[$0] = 1; next } f == 2 { delta[$0] = 1; next }
       !($0 in base) || (substr($0, 67) in delta) { print }' \
    "$META/base-checklist" "$META/in-delta" "$META/checklist" > "$META/to-hash"
else
  cp "$META/checklist" "$META/to-hash"
fi
if [ -s "$META/to-hash" ]; then
  ( cd "$STAGING" && sha256sum -c "$META/to-hash" > /dev/null 2>&1 ) ||
    fail "a file of $NAME does not match its SHA-256 in MANIFEST.json; not applied"
fi
if ! cmp -s "$STAGING/MANIFEST.json" "$META/MANIFEST.json" || ! cmp -s "$STAGING/MANIFEST.json.sig" "$META/MANIFEST.json.sig"; then
  fail "MANIFEST.json changed during extraction; not applied"
fi
chmod 0755 "$STAGING" || fail "cannot set the permissions of the staging release"

# Into place: the release, then `current` by one rename, then APPLIED.
if [ -e "$RELEASES/$RELEASE" ]; then
  if [ "$(readlink -- "$DIR/current" 2>/dev/null)" = "releases/$RELEASE" ]; then
    # An earlier run switched current and died before APPLIED: finish its work.
    if ! { printf '%s\n' "$RELEASE" > "$DIR/.APPLIED.prep-apply.$$" && mv -f -- "$DIR/.APPLIED.prep-apply.$$" "$DIR/APPLIED"; }; then
      fail "current is releases/$RELEASE but APPLIED could not be written; check the disk of $DIR"
    fi
    echo "prep-apply: current was already releases/$RELEASE; APPLIED now says $RELEASE"
    exit 0
  fi
  # An incomplete release left by an earlier run, or the same cut's release before a notice (or
  # the reverse) replaced it: the verified staging tree takes its place.
  rm -rf -- "${RELEASES:?}/$RELEASE" || fail "cannot remove the earlier releases/$RELEASE"
fi
mv -- "$STAGING" "$RELEASES/$RELEASE" || fail "cannot move the staging release to releases/$RELEASE"
STAGING=''
ln -s "releases/$RELEASE" "$DIR/.current.prep-apply.$$" || fail "cannot create the link for current in $DIR"
if mv -T -- "$DIR/.current.prep-apply.$$" "$DIR/current" 2>/dev/null; then
  switch='atomic rename'
else
  # A mv without -T would move the link INTO the folder current points to; replace it instead.
  rm -f -- "$DIR/current"
  mv -- "$DIR/.current.prep-apply.$$" "$DIR/current" || fail "cannot switch current to releases/$RELEASE"
  switch='remove and rename (this mv has no -T)'
fi
if ! { printf '%s\n' "$RELEASE" > "$DIR/.APPLIED.prep-apply.$$" && mv -f -- "$DIR/.APPLIED.prep-apply.$$" "$DIR/APPLIED"; }; then
  fail "current is releases/$RELEASE but APPLIED could not be written; check the disk of $DIR"
fi

# History: the newest KEEP releases stay (0 = all), notices counted like cuts; the current one is
# never removed.
if [ "$KEEP" -gt 0 ]; then
  ( cd "$RELEASES" && ls -1 ) | grep -E '^[0-9]{8}_[0-9]{4}(-aviso)?$' | sort -r | tail -n "+$((KEEP + 1))" |
    while IFS= read -r old; do [ "$old" = "$RELEASE" ] || rm -rf -- "${RELEASES:?}/$old"; done
fi

if [ -n "$BASE" ]; then how="delta from $BASE"; else how='full package'; fi
echo "prep-apply: applied $KIND $RELEASE ($how, $(wc -l < "$META/checklist" | tr -d ' ') files) in $DIR; current switched by $switch"
exit 0
