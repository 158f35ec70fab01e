#!/bin/sh
# prep-apply — verifica y aplica el paquete del PREP de {{INSTITUTE}} que nombra LATEST.
# Lo escribió `prep-push kit {{DIFUSOR_ID}}`. Necesita solo un sh POSIX con sus utilidades, coreutils,
# tar, gzip (unzip para paquetes .zip) y ssh-keygen de OpenSSH 8.1 o posterior. Nunca necesita root:
# se ejecuta como la cuenta que aplica ({{APPLY_USER}}), nunca como la cuenta SFTP que recibe.
#
#   sh prep-apply [--dir CARPETA] [--keep N]
#
# Salida 0: `current` es el corte válido más reciente (aplicado ahora o antes). 1: rechazado o
# fallido; `current` y APPLIED no cambiaron y una línea en la salida de errores dice por qué.
# 2: uso incorrecto.
#
# For whoever audits this script:
# - Nothing in the upload folder is trusted. LATEST, the package, its .sha256 and .sig, WITHDRAWN and
#   WITHDRAWN.sig are copied with `cp -RP` (a link stays a link, a FIFO stays a FIFO) into a work
#   folder inside prep-apply's own state, CARPETA/.prep-apply/, which must be a folder of this account
#   that nobody else can write. Only regular copies are used; only the copies are checked and extracted.
# - The state holds the anti-rollback mark (`mark`: the newest release applied), every release applied
#   (`history`) and every cut a signed WITHDRAWN ever listed (`withdrawn`). CARPETA/APPLIED is a copy
#   of the mark for prep-push to read; deleting or editing it neither rolls back nor freezes anything.
# - Order: lock, LATEST, WITHDRAWN (signed), anti-rollback, copies, SHA-256, signature, the archive's
#   listing (no "..", absolute paths, links or devices), MANIFEST.json and its signature — all before
#   anything is extracted; then a staging release in which every file is hashed against a signed
#   manifest, one atomic switch of `current`, the mark, APPLIED, and old releases pruned.
# - A delta (`<name>.from-<base>.<ext>`) is extracted apart. The files it does not carry come from the
#   base release by hard links, only where the base's signed MANIFEST.json gives them the same SHA-256
#   as the new one, and each of them is hashed against it: a base file edited by hand refuses the delta.
# - Notices: while the institute has this difusor blocked, LATEST may name a notice package,
#   `<package name of cut C>-aviso.tar.gz`, whose index.html is the notice. It is applied like any
#   package, as release `C-aviso`. Ordering compares cut ids with `-aviso` stripped; for the same cut id
#   a notice replaces the results and the results replace the notice. Its signed MANIFEST.json must name
#   cut C and carry the "notice" marker (a results package must not); a notice is never a delta.
# - WITHDRAWN (one cut id a line) with WITHDRAWN.sig (SSHSIG, namespace prep-push, the institute's
#   key) lists cuts the institute retracted. A cut listed is never applied, even a newer one; a cut
#   older than the mark is applied when every newer cut applied here is listed, and the mark goes back
#   to it. An unsigned or badly signed WITHDRAWN is ignored: nothing unsigned moves `current` back.

set -u
umask 022
LC_ALL=C
export LC_ALL

PRINCIPAL='{{INSTITUTE}}'
NAMESPACE='prep-push'
APPLY_DIR='{{APPLY_DIR}}'
KEEP='{{KEEP_RELEASES}}'
USAGE='uso: sh prep-apply [--dir CARPETA] [--keep N]'

# Every message goes through printf '%s': nothing read from a file is ever interpreted. Messages for
# people go to descriptor 3, the original stderr; what the tools themselves print is dropped (below),
# so a refusal is exactly one line.
exec 3>&2
say() { printf 'prep-apply: %s\n' "$1"; }
complain() { printf 'prep-apply: %s\n' "$1" >&3; }
usage() { complain "$USAGE"; exit 2; }

# Text from outside (LATEST, names in an archive) as one printable line of at most 200 bytes.
shown() {
  printf '%s' "$1" | tr '\n' '?' | sed 's/[[:cntrl:]]/?/g' | cut -c1-200
}

while [ $# -gt 0 ]; do
  case $1 in
    --dir) [ $# -ge 2 ] || usage; APPLY_DIR=$2; shift 2 ;;
    --dir=*) APPLY_DIR=${1#--dir=}; shift ;;
    --keep) [ $# -ge 2 ] || usage; KEEP=$2; shift 2 ;;
    --keep=*) KEEP=${1#--keep=}; shift ;;
    # Every file is hashed on every run now; the option stays so older crontabs keep working.
    --verify-all) shift ;;
    -h|--help) printf '%s\n' "$USAGE"; exit 0 ;;
    *) complain "opción desconocida: $(shown "$1")"; usage ;;
  esac
done
case $KEEP in ''|*[!0-9]*) complain "--keep lleva un número entero (0 = conservar todas), no: $(shown "$KEEP")"; exit 2 ;; esac
case $APPLY_DIR in /*) ;; *) complain "--dir lleva una ruta absoluta, no: $(shown "$APPLY_DIR")"; exit 2 ;; esac

exec 2>/dev/null
KIT_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd) || { complain 'no se encontró la carpeta de prep-apply'; exit 2; }
SIGNERS=$KIT_DIR/allowed_signers
DIR=${APPLY_DIR%/}
RELEASES=$DIR/releases
STATE=$DIR/.prep-apply
LOCK=$STATE/lock
ME=$(id -u)
WORK=''
STAGING=''
UNPACKED=''
LOCKED=0

# --- ending --------------------------------------------------------------------------------------

cleanup() {
  if [ -n "$STAGING" ] && [ -d "$STAGING" ]; then rm -rf -- "$STAGING"; fi
  if [ -n "$UNPACKED" ] && [ -d "$UNPACKED" ]; then rm -rf -- "$UNPACKED"; fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then rm -rf -- "$WORK"; fi
  if [ "$LOCKED" = 1 ]; then rm -rf -- "$LOCK"; LOCKED=0; fi
}

fail() {
  complain "$1"
  cleanup
  exit 1
}

trap 'cleanup' EXIT
trap 'fail "ejecución interrumpida; current y APPLIED no cambiaron"' INT TERM HUP

# --- ownership: what prep-apply publishes or keeps must be this account's alone -------------------

# A folder of this account that neither its group nor others can write.
mine() {
  [ -n "$(find "$1" -prune -type d -user "$ME" ! -perm -020 ! -perm -002 2>/dev/null)" ]
}

# A symbolic link of this account.
my_link() {
  [ -n "$(find "$1" -prune -type l -user "$ME" 2>/dev/null)" ]
}

# --- lock: mkdir is atomic; a lock whose process is gone is taken over ---------------------------

lock_holder_alive() {
  holder=$(head -c 32 -- "$LOCK/pid" 2>/dev/null) || holder=''
  case $holder in
    ''|*[!0-9]*)
      # No pid yet: another run is between mkdir and writing it, unless the lock is old.
      [ -z "$(find "$LOCK" -prune -mmin +10 2>/dev/null)" ]
      return ;;
  esac
  kill -0 "$holder" 2>/dev/null || [ -d "/proc/$holder" ]
}

take_lock() {
  [ -d "$DIR" ] || fail "$DIR no existe; indique la carpeta del difusor con --dir"
  if [ ! -e "$STATE" ] && [ ! -L "$STATE" ]; then
    mkdir -m 0700 -- "$STATE" 2>/dev/null || [ -d "$STATE" ] ||
      fail "no se pudo crear $STATE: la cuenta que aplica debe poder escribir en $DIR (vea instalar.sh)"
  fi
  mine "$STATE" || fail "$STATE no es una carpeta de esta cuenta (uid $ME) o otros pueden escribir en ella; no se hizo nada (vea instalar.sh)"
  if mkdir -- "$LOCK" 2>/dev/null; then LOCKED=1; printf '%s\n' "$$" > "$LOCK/pid"; return; fi
  if lock_holder_alive; then
    fail "otro prep-apply (pid ${holder:-desconocido}) está aplicando en $DIR; no se hizo nada"
  fi
  rm -rf -- "$LOCK"
  mkdir -- "$LOCK" 2>/dev/null || fail "no se pudo crear el bloqueo $LOCK (otro prep-apply acaba de empezar, o no se puede escribir en $STATE)"
  LOCKED=1
  printf '%s\n' "$$" > "$LOCK/pid"
}

# --- helpers -------------------------------------------------------------------------------------

# Copies SOURCE into the work folder as WORK/NAME. 0: a regular copy; 1: SOURCE does not exist;
# 2: SOURCE is not a regular file (or became something else while copied); 3: the copy failed;
# 4: SOURCE is larger than MAX bytes (when given; checked before copying, and again on the copy).
copy_in() {
  if [ ! -e "$1" ] && [ ! -L "$1" ]; then return 1; fi
  if [ -L "$1" ] || [ ! -f "$1" ]; then return 2; fi
  # find reads the size without opening the file (a FIFO swapped in meanwhile would block an open).
  if [ $# -ge 3 ] && [ -n "$(find "$1" -prune -size +"$3"c)" ]; then return 4; fi
  if ! cp -RP -- "$1" "$WORK/$2" 2>/dev/null; then
    if [ -L "$1" ] || [ ! -f "$1" ]; then return 2; fi
    return 3
  fi
  if [ -L "$WORK/$2" ] || [ ! -f "$WORK/$2" ]; then return 2; fi
  if [ $# -ge 3 ] && [ "$(size_of "$WORK/$2")" -gt "$3" ]; then return 4; fi
  return 0
}

size_of() {
  wc -c < "$1" | tr -d ' '
}

# The last YYYYMMDD_HHmm in a name.
cut_in_name() {
  printf '%s\n' "$1" | sed -n 's/.*\([0-9]\{8\}_[0-9]\{4\}\).*/\1/p'
}

is_release_name() {
  printf '%s\n' "$1" | grep -Eqx '[0-9]{8}_[0-9]{4}(-aviso)?'
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

# Info-ZIP unzip built with Unicode support writes UTF-8 names as #Uxxxx under LC_ALL=C; its -UU
# keeps their bytes. An unzip without that option takes the bytes as they are anyway.
UNZIP_RAW=0
raw_unzip() {
  if [ "$UNZIP_RAW" = 1 ]; then unzip -UU "$@"; else unzip "$@"; fi
}

list_archive() {
  case $FORMAT in
    tar.gz) gzip -dc -- "$1" | tar -tf - 2>/dev/null ;;
    zip) if [ "$UNZIP_RAW" = 1 ]; then unzip -Z1 -UU -- "$1"; else unzip -Z1 -- "$1"; fi 2>/dev/null ;;
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
    zip) raw_unzip -q -o -- "$1" -d "$2" ;;
  esac
}

extract_one() {
  case $FORMAT in
    tar.gz) gzip -dc -- "$1" | tar -xOf - "$2" ;;
    zip) raw_unzip -p -- "$1" "$2" ;;
  esac
}

# Files (relative paths, sorted) and "is anything else there" of an extracted tree.
files_of() {
  ( cd "$1" && find . -type f | sed 's|^\./||' | sort )
}
holds_other_than_files() {
  ( cd "$1" && find . ! -type f ! -type d | head -n 1 ) | grep -q .
}

# The first file `sha256sum -c` reported as failed, from its output.
first_failed() {
  sed -n 's/: FAILED.*$//p' "$1" | head -n 1
}

# The mark, the list of releases applied, then the copy for prep-push (best effort: prep-push sends
# a full package when APPLIED is missing or wrong).
record_applied() {
  { printf '%s\n' "$RELEASE" > "$WORK/mark" && mv -f -- "$WORK/mark" "$STATE/mark"; } || return 1
  { cat -- "$STATE/history"; printf '%s\n' "$RELEASE"; } | sort -u > "$WORK/history" || return 1
  mv -f -- "$WORK/history" "$STATE/history" || return 1
  copy_applied
}
copy_applied() {
  # Written afresh every time, never read: what is there may be anyone's.
  if ! { printf '%s\n' "$RELEASE" > "$WORK/APPLIED" && mv -fT -- "$WORK/APPLIED" "$DIR/APPLIED" 2>/dev/null; }; then
    complain "aviso: no se pudo escribir $DIR/APPLIED (¿es de otra cuenta?); $RELEASE sí está aplicado"
  fi
}

# --- the run -------------------------------------------------------------------------------------

[ -r "$SIGNERS" ] || { complain "falta $SIGNERS; manténgalo junto a prep-apply"; exit 2; }
command -v ssh-keygen > /dev/null 2>&1 || { complain 'no se encontró ssh-keygen; instale OpenSSH 8.1 o posterior'; exit 2; }

take_lock

# What killed runs left: staging releases and work folders (we hold the lock, so none is live).
for leftover in "$RELEASES"/.staging-* "$STATE"/work.*; do
  if [ -e "$leftover" ] || [ -L "$leftover" ]; then rm -rf -- "$leftover"; fi
done
WORK=$STATE/work.$$
mkdir -m 0700 -- "$WORK" || fail "no se pudo crear $WORK (¿disco lleno?)"
for kept in history withdrawn; do
  [ -f "$STATE/$kept" ] || : > "$STATE/$kept" || fail "no se pudo escribir en $STATE (¿disco lleno?)"
done

copy_in "$DIR/LATEST" LATEST 4096
case $? in
  1) fail "no hay LATEST en $DIR: todavía no se ha entregado ningún paquete" ;;
  2) fail "$DIR/LATEST no es un archivo regular (es un enlace, una carpeta o un FIFO); no se aplicó nada" ;;
  3) fail "no se pudo copiar $DIR/LATEST a $WORK (¿disco lleno?)" ;;
  4) fail 'LATEST mide más de 4 KiB, así que no nombra un paquete; espere el siguiente corte' ;;
esac
NAME=$(head -n 1 -- "$WORK/LATEST" | tr -d '\r\000')
case $NAME in
  ''|.*|*/*|*[!A-Za-z0-9._-]*) fail "LATEST contiene «$(shown "$NAME")», que no es un nombre de paquete; espere el siguiente corte" ;;
esac
case $NAME in
  *.tar.gz) FORMAT=tar.gz ;;
  *.zip) FORMAT=zip ;;
  *) fail "LATEST nombra $NAME, que no termina en .tar.gz ni en .zip" ;;
esac
BASE=$(printf '%s\n' "$NAME" | sed -n 's/.*\.from-\([0-9]\{8\}_[0-9]\{4\}\)\.[a-z.]*$/\1/p')
CUT=$(cut_in_name "$(printf '%s\n' "$NAME" | sed 's/\.from-[0-9]\{8\}_[0-9]\{4\}\.[a-z.]*$//')")
[ -n "$CUT" ] || fail "LATEST nombra $NAME, que no contiene un corte (AAAAMMDD_HHmm)"
# A notice package (see the header): its release is `<cut>-aviso`, beside the cut's results. Its
# name never ends in `.from-<cut>.<ext>`, so it is never taken for a delta.
NOTICE=0
NOUN=corte
RELEASE=$CUT
case $NAME in
  *-aviso.tar.gz|*-aviso.zip) NOTICE=1; NOUN=aviso; RELEASE=$CUT-aviso ;;
esac

# The mark. A state without one (a first run, or a kit older than the state) starts from the release
# `current` points to, when there is one.
MARK=''
if [ -f "$STATE/mark" ]; then MARK=$(head -n 1 -- "$STATE/mark"); fi
is_release_name "$MARK" || MARK=''
if [ -z "$MARK" ]; then
  seed=$(readlink -- "$DIR/current" 2>/dev/null) || seed=''
  seed=${seed#releases/}
  if is_release_name "$seed" && [ -d "$RELEASES/$seed" ]; then MARK=$seed; fi
fi

# WITHDRAWN: only a copy whose signature verifies counts, and what it lists is kept in the state, so
# removing WITHDRAWN from the upload folder does not bring a withdrawn cut back.
WITHDRAWN_NOTE=''
copy_in "$DIR/WITHDRAWN" WITHDRAWN 65536
listed=$?
if [ "$listed" != 1 ]; then
  copy_in "$DIR/WITHDRAWN.sig" WITHDRAWN.sig 65536
  signed=$?
  if [ "$listed" != 0 ]; then
    WITHDRAWN_NOTE='WITHDRAWN no es un archivo regular de hasta 64 KiB y no se tomó en cuenta'
  elif [ "$signed" != 0 ]; then
    WITHDRAWN_NOTE='WITHDRAWN llegó sin WITHDRAWN.sig y no se tomó en cuenta'
  elif ! signature_ok "$WORK/WITHDRAWN" "$WORK/WITHDRAWN.sig"; then
    WITHDRAWN_NOTE="la firma de WITHDRAWN no es válida con $SIGNERS y no se tomó en cuenta"
  else
    { cat -- "$STATE/withdrawn"; tr -d '\r' < "$WORK/WITHDRAWN" | grep -Ex '[0-9]{8}_[0-9]{4}'; } | sort -u > "$WORK/withdrawn" ||
      fail "no se pudo escribir en $WORK (¿disco lleno?)"
    mv -f -- "$WORK/withdrawn" "$STATE/withdrawn" || fail "no se pudo escribir $STATE/withdrawn (¿disco lleno?)"
  fi
fi
if grep -qxF -- "$CUT" "$STATE/withdrawn"; then
  fail "el corte $CUT fue retirado (lo dice WITHDRAWN, firmado): no se publica; espere el siguiente corte"
fi

# Anti-rollback, against the mark in the state (never against APPLIED, which others can write).
UNDONE=''
if [ -n "$MARK" ]; then
  if [ "$RELEASE" = "$MARK" ] && [ "$(readlink -- "$DIR/current" 2>/dev/null)" = "releases/$RELEASE" ]; then
    copy_applied
    say "el $NOUN $RELEASE ya está aplicado en $DIR; nada que hacer"
    exit 0
  fi
  # Same cut id, other kind (results <-> notice): allowed either way; an older cut only when every
  # newer cut applied here was withdrawn.
  newest=$(printf '%s\n%s\n' "$CUT" "${MARK%-aviso}" | sort | tail -n 1)
  if [ "$newest" != "$CUT" ]; then
    { cat -- "$STATE/history"; printf '%s\n' "$MARK"; } | sed 's/-aviso$//' | awk -v cut="$CUT" '$0 > cut' | sort -u > "$WORK/newer"
    if grep -vxF -f "$STATE/withdrawn" "$WORK/newer" > /dev/null; then
      why="se rechaza volver atrás: LATEST nombra el corte $CUT, anterior al aplicado $MARK"
      if [ -n "$WITHDRAWN_NOTE" ]; then why="$why ($WITHDRAWN_NOTE)"; fi
      fail "$why"
    fi
    UNDONE=$(tr '\n' ' ' < "$WORK/newer" | sed 's/ $//; s/ /, /g')
  fi
fi

# The package, its .sha256 and .sig: copied out of the upload folder; only the copies are used.
PKG=$WORK/package
copy_package_file() {
  if [ $# -ge 3 ]; then copy_in "$DIR/$NAME$1" "package$1" "$3"; else copy_in "$DIR/$NAME$1" "package$1"; fi
  case $? in
    1) fail "$2" ;;
    2) fail "$NAME$1 no es un archivo regular en $DIR (es un enlace, una carpeta o un FIFO); no se aplicó" ;;
    3) fail "no se pudo copiar $NAME$1 a $WORK (¿disco lleno?); no se aplicó" ;;
    4) fail "$NAME$1 mide más de 64 KiB; no se aplicó" ;;
  esac
}
copy_package_file '' "LATEST nombra $NAME, que no está en $DIR (entrega incompleta o borrada); espere el siguiente corte"
copy_package_file .sha256 "falta $NAME.sha256 en $DIR; espere el siguiente corte" 65536
copy_package_file .sig "falta $NAME.sig en $DIR; un paquete sin firma nunca se aplica" 65536

# Integrity, then authenticity, of the copy.
expected=$(cut -d ' ' -f 1 < "$PKG.sha256")
actual=$(sha256sum < "$PKG" | cut -d ' ' -f 1)
if [ -z "$expected" ] || [ "$expected" != "$actual" ]; then fail "$NAME no coincide con $NAME.sha256 (truncado o alterado); no se aplicó"; fi
signature_ok "$PKG" "$PKG.sig" || fail "la firma $NAME.sig no es válida con $SIGNERS (llave ajena o paquete alterado); no se aplicó"

if [ "$FORMAT" = zip ] && unzip -Z1 -UU -- "$PKG" > /dev/null 2>&1; then UNZIP_RAW=1; fi

# The archive's entries: plain files and folders under relative paths only, even when signed. (tar
# may print a name with escapes such as \303\255; that never hides a "/" or a "..".)
listing=$(list_archive "$PKG") || fail "no se pudo leer el contenido de $NAME (archivo dañado); no se aplicó"
bad=$(printf '%s\n' "$listing" | grep -E '^/|(^|/)\.\.(/|$)' | head -n 1)
[ -z "$bad" ] || fail "$NAME contiene una entrada que sale de la publicación ($(shown "$bad")); no se aplicó"
types=$(list_archive_types "$PKG" | sort -u | tr -d '\n') || fail "no se pudo leer el contenido de $NAME (archivo dañado); no se aplicó"
case $types in
  *[!d-]*) fail "$NAME contiene enlaces o dispositivos (tipos de entrada: $(shown "$types")); no se aplicó" ;;
esac

# Its MANIFEST.json, signed too, names the cut: the name of the file proves nothing.
extract_one "$PKG" MANIFEST.json > "$WORK/MANIFEST.json" 2>/dev/null || fail "$NAME no contiene MANIFEST.json; no se aplicó"
extract_one "$PKG" MANIFEST.json.sig > "$WORK/MANIFEST.json.sig" 2>/dev/null || fail "$NAME no contiene MANIFEST.json.sig; no se aplicó"
signature_ok "$WORK/MANIFEST.json" "$WORK/MANIFEST.json.sig" || fail "el MANIFEST.json de $NAME no es válido con $SIGNERS; no se aplicó"
manifest_cut_id=$(manifest_cut "$WORK/MANIFEST.json")
[ "$manifest_cut_id" = "$CUT" ] || fail "$NAME lleva en el nombre el corte $CUT, pero su MANIFEST.json es del corte ${manifest_cut_id:-desconocido}; no se aplicó"
# The signed manifest, not the file name, says whether this is a notice: both must agree.
if grep -q '^  "notice": {' "$WORK/MANIFEST.json"; then marked=1; else marked=0; fi
if [ "$NOTICE" = 1 ] && [ "$marked" = 0 ]; then fail "$NAME se llama como un aviso, pero su MANIFEST.json no lo marca como aviso; no se aplicó"; fi
if [ "$NOTICE" = 0 ] && [ "$marked" = 1 ]; then fail "$NAME se llama como resultados, pero su MANIFEST.json es un aviso; no se aplicó"; fi
manifest_checklist "$WORK/MANIFEST.json" > "$WORK/checklist" 2>/dev/null || fail "no se pudo escribir en $WORK (¿disco lleno?)"
grep -q '[\\]' "$WORK/checklist" && fail "el MANIFEST.json del corte $CUT tiene un nombre de archivo que prep-apply no maneja (barra invertida o carácter escapado)"
{ cut -c67- "$WORK/checklist"; printf '%s\n' MANIFEST.json MANIFEST.json.sig; } | sort > "$WORK/expected-files"

# Where it goes: `current` a link of this account (or nothing yet), `releases/` a folder of its own.
if [ -L "$DIR/current" ]; then
  my_link "$DIR/current" || fail "$DIR/current es un enlace de otra cuenta y prep-apply no puede reemplazarlo; bórrelo como root (vea instalar.sh)"
elif [ -e "$DIR/current" ]; then
  fail "$DIR/current es una carpeta o un archivo, no un enlace; muévalo (prep-apply hace de current un enlace a releases/<corte>)"
fi
if [ ! -e "$RELEASES" ] && [ ! -L "$RELEASES" ]; then mkdir -m 0755 -- "$RELEASES" || fail "no se pudo crear $RELEASES"; fi
mine "$RELEASES" || fail "$RELEASES no es una carpeta de esta cuenta (uid $ME) o otros pueden escribir en ella; no se aplicó (vea instalar.sh)"

STAGING=$RELEASES/.staging-$RELEASE.$$
: > "$WORK/hash-carried"
: > "$WORK/hash-linked"
: > "$WORK/missing"
if [ -n "$BASE" ]; then
  [ "$BASE" = "$MARK" ] || fail "$NAME es incremental desde $BASE, pero el corte aplicado es ${MARK:-ninguno}; el siguiente corte trae un paquete completo"
  [ -d "$RELEASES/$BASE" ] || fail "la publicación base $BASE de $NAME ya no está en $RELEASES; el siguiente corte trae un paquete completo"
  if ! copy_in "$RELEASES/$BASE/MANIFEST.json" base.json || ! copy_in "$RELEASES/$BASE/MANIFEST.json.sig" base.json.sig ||
    ! signature_ok "$WORK/base.json" "$WORK/base.json.sig" || [ "$(manifest_cut "$WORK/base.json")" != "$BASE" ]; then
    fail "la publicación base $BASE no tiene un MANIFEST.json firmado válido; el siguiente corte trae un paquete completo"
  fi
  manifest_checklist "$WORK/base.json" > "$WORK/base-checklist" || fail "no se pudo escribir en $WORK (¿disco lleno?)"
  # The delta on its own first, so what it carries is known by the names on disk.
  UNPACKED=$STAGING.delta
  mkdir -- "$UNPACKED" || fail "no se pudo crear $UNPACKED"
  extract_archive "$PKG" "$UNPACKED" > /dev/null 2>&1 || fail "falló la extracción de $NAME (disco lleno o archivo dañado); no se aplicó"
  holds_other_than_files "$UNPACKED" && fail "$NAME extraído contiene algo que no es archivo ni carpeta; no se aplicó"
  files_of "$UNPACKED" | grep -vxF -e MANIFEST.json -e MANIFEST.json.sig > "$WORK/carried"
  # Each file of the new cut: carried by the delta (hashed against the new manifest), or the same
  # path and SHA-256 in the base's signed manifest (hashed against it, in the base's copy), or missing.
  awk -v carried="$WORK/carried" -v base="$WORK/base-checklist" -v out="$WORK" '
    BEGIN {
      while ((getline line < carried) > 0) c[line] = 1
      while ((getline line < base) > 0) b[line] = 1
    }
    { p = substr($0, 67) }
    p in c { print > (out "/hash-carried"); next }
    $0 in b { print > (out "/hash-linked"); next }
    { print p > (out "/missing") }
  ' "$WORK/checklist" || fail "no se pudo escribir en $WORK (¿disco lleno?)"
  if [ -s "$WORK/missing" ]; then
    fail "$NAME no trae $(shown "$(head -n 1 "$WORK/missing")"), que no es igual en la publicación base $BASE; el siguiente corte trae un paquete completo"
  fi
  cp -al -- "$RELEASES/$BASE" "$STAGING" || fail "no se pudo enlazar la publicación base $BASE en $STAGING (¿disco lleno, o archivos de otra cuenta en ella?)"
  rm -f -- "$STAGING/MANIFEST.json" "$STAGING/MANIFEST.json.sig"
  # Files absent from the new MANIFEST.json are deleted, with each folder they leave empty.
  cut -c67- "$WORK/base-checklist" | sort | comm -23 - "$WORK/expected-files" | while IFS= read -r gone; do
    rm -f -- "$STAGING/$gone"
    parent=$gone
    while case $parent in */*) true ;; *) false ;; esac; do
      parent=${parent%/*}
      rmdir -- "$STAGING/$parent" 2>/dev/null || break
    done
  done
  # Never write through a hard link into the base release: each file the delta carries replaces the
  # base's link (unlinked first), never its content.
  cp -al --remove-destination -- "$UNPACKED/." "$STAGING/" || fail "no se pudo colocar $NAME sobre la publicación base $BASE (¿disco lleno?); no se aplicó"
  rm -rf -- "$UNPACKED"
  UNPACKED=''
else
  mkdir -- "$STAGING" || fail "no se pudo crear la publicación provisional en $RELEASES"
  extract_archive "$PKG" "$STAGING" > /dev/null 2>&1 || fail "falló la extracción de $NAME (disco lleno o archivo dañado); no se aplicó"
  cp -- "$WORK/checklist" "$WORK/hash-carried" || fail "no se pudo escribir en $WORK (¿disco lleno?)"
fi

# Exactly the files MANIFEST.json lists, each hashed: the linked ones against the base's signed
# manifest, the others against the new one.
holds_other_than_files "$STAGING" && fail "la publicación extraída contiene algo que no es archivo ni carpeta; no se aplicó"
files_of "$STAGING" > "$WORK/found-files" || fail "no se pudo listar la publicación provisional"
cmp -s "$WORK/found-files" "$WORK/expected-files" ||
  fail "los archivos de $NAME no coinciden con su MANIFEST.json (primera diferencia: $(shown "$(comm -3 "$WORK/found-files" "$WORK/expected-files" | head -n 1 | tr -d '\t')")); no se aplicó"
if [ -s "$WORK/hash-linked" ] && ! ( cd "$STAGING" && sha256sum -c "$WORK/hash-linked" > "$WORK/hash-linked.out" 2>/dev/null ); then
  fail "$(shown "$(first_failed "$WORK/hash-linked.out")") de la publicación base $BASE no coincide con su MANIFEST.json firmado (fue modificado en el disco); no se aplicó $NAME; el siguiente corte trae un paquete completo"
fi
if [ -s "$WORK/hash-carried" ] && ! ( cd "$STAGING" && sha256sum -c "$WORK/hash-carried" > "$WORK/hash-carried.out" 2>/dev/null ); then
  fail "$(shown "$(first_failed "$WORK/hash-carried.out")") de $NAME no coincide con su SHA-256 en MANIFEST.json; no se aplicó"
fi
if ! cmp -s "$STAGING/MANIFEST.json" "$WORK/MANIFEST.json" || ! cmp -s "$STAGING/MANIFEST.json.sig" "$WORK/MANIFEST.json.sig"; then
  fail "MANIFEST.json cambió durante la extracción; no se aplicó"
fi
chmod 0755 "$STAGING" || fail "no se pudieron fijar los permisos de la publicación provisional"

# Into place: the release, then `current` by one rename, then the mark and APPLIED.
if [ -e "$RELEASES/$RELEASE" ] || [ -L "$RELEASES/$RELEASE" ]; then
  if [ "$(readlink -- "$DIR/current" 2>/dev/null)" = "releases/$RELEASE" ]; then
    # An earlier run switched current and died before the mark: finish its work.
    record_applied || fail "current ya es releases/$RELEASE, pero no se pudo escribir la marca en $STATE; revise el disco de $DIR"
    say "current ya era releases/$RELEASE; la marca y APPLIED ahora dicen $RELEASE"
    exit 0
  fi
  # An incomplete release left by an earlier run, the same cut's release before a notice (or the
  # reverse) replaced it, or a release applied before a withdrawal: the verified staging takes its place.
  rm -rf -- "${RELEASES:?}/$RELEASE" || fail "no se pudo borrar la publicación anterior releases/$RELEASE"
fi
mv -- "$STAGING" "$RELEASES/$RELEASE" || fail "no se pudo mover la publicación provisional a releases/$RELEASE"
STAGING=''
# The new link is made in the work folder (no name in DIR anyone else could take first) and renamed
# over `current`, which is in the same file system.
ln -s "releases/$RELEASE" "$WORK/current" || fail "no se pudo crear el enlace para current en $WORK"
if mv -T -- "$WORK/current" "$DIR/current" 2>/dev/null; then
  switch='un renombrado atómico'
else
  # A mv without -T would move the link INTO the folder current points to; replace it instead.
  rm -f -- "$DIR/current"
  if [ -e "$DIR/current" ] || [ -L "$DIR/current" ]; then fail "no se pudo cambiar current a releases/$RELEASE"; fi
  mv -- "$WORK/current" "$DIR/current" || fail "no se pudo cambiar current a releases/$RELEASE"
  switch='borrar y renombrar (este mv no tiene -T)'
fi
record_applied || fail "current ya es releases/$RELEASE, pero no se pudo escribir la marca en $STATE; revise el disco de $DIR"

# History: the newest KEEP releases stay (0 = all), notices counted like cuts; the current one is
# never removed.
if [ "$KEEP" -gt 0 ]; then
  ( cd "$RELEASES" && ls -1 ) | grep -E '^[0-9]{8}_[0-9]{4}(-aviso)?$' | sort -r | tail -n "+$((KEEP + 1))" |
    while IFS= read -r old; do [ "$old" = "$RELEASE" ] || rm -rf -- "${RELEASES:?}/$old"; done
fi

count=$(wc -l < "$WORK/checklist" | tr -d ' ')
if [ "$count" = 1 ]; then files='1 archivo'; else files="$count archivos"; fi
if [ -n "$BASE" ]; then how="incremental desde $BASE, $files"; else how="paquete completo, $files"; fi
if [ -n "$UNDONE" ]; then
  say "se volvió al $NOUN $RELEASE ($how) en $DIR porque se retiraron los cortes posteriores ($UNDONE); current cambió con $switch"
else
  say "se aplicó el $NOUN $RELEASE ($how) en $DIR; current cambió con $switch"
fi
exit 0
