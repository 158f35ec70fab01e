#!/bin/sh
# instalar.sh — prepara este servidor para recibir y publicar el PREP del {{INSTITUTE}} ({{DIFUSOR_NAME}}).
# Lo escribió `prep-push kit {{DIFUSOR_ID}}`. Ejecútelo como root desde la carpeta del kit:
#
#   sh instalar.sh
#
# Se puede repetir sin daño. Hace, en este orden, lo que README.md explica paso a paso:
#   1. la cuenta SFTP {{USERNAME}} (solo recibe; sin shell) y la cuenta {{APPLY_USER}} (ejecuta
#      prep-apply; miembro del grupo {{USERNAME}} para poder escribir en la carpeta de entrega);
#   2. la jaula de la cuenta SFTP, si sshd_config.txt la usa: de root, modo 0755;
#   3. la carpeta de entrega {{APPLY_DIR}}: de root, grupo {{USERNAME}}, modo 1775 (sticky: cada cuenta
#      solo reemplaza o borra lo suyo);
#   4. releases/, current, APPLIED y .prep-apply/ dentro de ella, de {{APPLY_USER}}: la cuenta SFTP no
#      puede escribirlos ni reemplazarlos;
#   5. prep-apply y allowed_signers en {{KIT_INSTALL_DIR}}, de root;
#   6. la llave pública del {{INSTITUTE}} para {{USERNAME}} en {{KEYS_DIR}}/{{USERNAME}}, de root;
#   7. la bitácora /var/log/prep-apply para el crontab.
# No toca sshd, systemd, cron ni el servidor web: esos pasos (README.md) los revisa y aplica usted.
#
# Las carpetas de instalación se pueden cambiar al invocarlo, por ejemplo:
#   DESTINO_KIT=/usr/local/lib/prep-apply sh instalar.sh

set -eu
umask 022

INSTITUTO='{{INSTITUTE}}'
CUENTA_SFTP='{{USERNAME}}'
CUENTA_APLICA='{{APPLY_USER}}'
CARPETA='{{APPLY_DIR}}'
CARPETA_VISTA='{{REMOTE_DIR}}'
JAULA='{{CHROOT}}'
CON_CONTRASENA='{{SFTP_PASSWORD}}'
KIT_POR_OMISION='{{KIT_INSTALL_DIR}}'
LLAVES_POR_OMISION='{{KEYS_DIR}}'
DESTINO_KIT=${DESTINO_KIT:-$KIT_POR_OMISION}
DESTINO_LLAVES=${DESTINO_LLAVES:-$LLAVES_POR_OMISION}
BITACORA=${BITACORA:-/var/log/prep-apply}

paso() { printf '== %s\n' "$1"; }
nota() { printf 'instalar.sh: %s\n' "$1" >&2; }
alto() { nota "$1"; exit 1; }

[ "$(id -u)" = 0 ] || alto 'ejecútelo como root (sudo sh instalar.sh)'
KIT=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
for archivo in prep-apply allowed_signers; do
  [ -f "$KIT/$archivo" ] || alto "falta $KIT/$archivo: ejecute instalar.sh desde la carpeta del kit"
done
SIN_SHELL=$(command -v nologin || true)
[ -n "$SIN_SHELL" ] || SIN_SHELL=/bin/false

paso "1. Cuentas: $CUENTA_SFTP (SFTP, recibe) y $CUENTA_APLICA (ejecuta prep-apply)"
if ! id -u "$CUENTA_SFTP" > /dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir "$CARPETA_VISTA" --shell "$SIN_SHELL" "$CUENTA_SFTP"
  # Sin contraseña, pero no bloqueada: sshd la deja entrar con la llave del instituto.
  if [ "$CON_CONTRASENA" = 0 ]; then usermod -p '*' "$CUENTA_SFTP"; fi
fi
GRUPO=$(id -gn "$CUENTA_SFTP")
if ! id -u "$CUENTA_APLICA" > /dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir / --shell "$SIN_SHELL" "$CUENTA_APLICA"
fi
[ "$(id -u "$CUENTA_APLICA")" != "$(id -u "$CUENTA_SFTP")" ] || alto "$CUENTA_APLICA y $CUENTA_SFTP deben ser cuentas distintas"
[ "$(id -u "$CUENTA_APLICA")" != 0 ] || alto "$CUENTA_APLICA no puede ser root"
usermod -a -G "$GRUPO" "$CUENTA_APLICA"

if [ -n "$JAULA" ]; then
  paso "2. Jaula de $CUENTA_SFTP: $JAULA, de root, modo 0755"
  mkdir -p -- "$JAULA"
  chown root:root "$JAULA"
  chmod 0755 "$JAULA"
  arriba=$JAULA
  while [ "$arriba" != / ]; do
    arriba=$(dirname -- "$arriba")
    if [ -z "$(find "$arriba" -prune -user 0 ! -perm -020 ! -perm -002)" ]; then
      nota "aviso: $arriba no es de root o la pueden escribir otros; sshd rechazará la jaula $JAULA"
    fi
  done
else
  paso '2. Jaula: ninguna (lea la nota de sshd_config.txt)'
fi

paso "3. Carpeta de entrega $CARPETA: de root, grupo $GRUPO, modo 1775"
mkdir -p -- "$CARPETA"
chown root:"$GRUPO" "$CARPETA"
chmod 1775 "$CARPETA"

paso "4. releases/, current, APPLIED y .prep-apply/: de $CUENTA_APLICA"
for carpeta in releases .prep-apply; do
  if [ -L "$CARPETA/$carpeta" ] || { [ -e "$CARPETA/$carpeta" ] && [ ! -d "$CARPETA/$carpeta" ]; }; then
    alto "$CARPETA/$carpeta existe y no es una carpeta: revíselo y bórrelo antes de seguir"
  fi
  mkdir -p -- "$CARPETA/$carpeta"
  chown -R "$CUENTA_APLICA:$CUENTA_APLICA" "$CARPETA/$carpeta"
done
chmod 0755 "$CARPETA/releases"
chmod 0700 "$CARPETA/.prep-apply"
# current y APPLIED existen desde ahora y son de la cuenta que aplica: la cuenta SFTP no puede
# ocupar esos nombres antes de la primera aplicación (el directorio es sticky).
if [ -e "$CARPETA/current" ] && [ ! -L "$CARPETA/current" ]; then
  alto "$CARPETA/current es una carpeta o un archivo: muévalo (prep-apply hace de current un enlace)"
fi
if [ ! -L "$CARPETA/current" ]; then ln -s releases/.sin-publicar "$CARPETA/current"; fi
chown -h "$CUENTA_APLICA:$CUENTA_APLICA" "$CARPETA/current"
if [ -L "$CARPETA/APPLIED" ] || { [ -e "$CARPETA/APPLIED" ] && [ ! -f "$CARPETA/APPLIED" ]; }; then rm -rf -- "$CARPETA/APPLIED"; fi
if [ ! -e "$CARPETA/APPLIED" ]; then : > "$CARPETA/APPLIED"; fi
chown "$CUENTA_APLICA:$CUENTA_APLICA" "$CARPETA/APPLIED"
chmod 0644 "$CARPETA/APPLIED"

paso "5. prep-apply y allowed_signers en $DESTINO_KIT (de root)"
install -d -o root -g root -m 0755 "$DESTINO_KIT"
install -o root -g root -m 0755 "$KIT/prep-apply" "$DESTINO_KIT/prep-apply"
install -o root -g root -m 0644 "$KIT/allowed_signers" "$DESTINO_KIT/allowed_signers"

if [ -f "$KIT/authorized_keys" ]; then
  paso "6. Llave pública del $INSTITUTO para $CUENTA_SFTP: $DESTINO_LLAVES/$CUENTA_SFTP (de root)"
  install -d -o root -g root -m 0755 "$DESTINO_LLAVES"
  install -o root -g root -m 0644 "$KIT/authorized_keys" "$DESTINO_LLAVES/$CUENTA_SFTP"
else
  paso "6. Llave pública: este kit no la trae (lea README.md)"
fi

paso "7. Bitácora para cron: $BITACORA, de $CUENTA_APLICA"
install -d -o "$CUENTA_APLICA" -g "$CUENTA_APLICA" -m 0755 "$BITACORA"

paso 'Listo. Siga con README.md: sshd_config.txt, prep-apply.service y prep-apply.path (o crontab.txt), nginx.conf o apache.conf.'
