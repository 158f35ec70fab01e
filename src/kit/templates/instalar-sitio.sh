#!/bin/sh
# instalar.sh — prepara este servidor para que el {{INSTITUTE}} publique ahí el PREP ({{DIFUSOR_NAME}}).
# Lo escribió `prep-push kit {{DIFUSOR_ID}}`. Ejecútelo como root desde la carpeta del kit:
#
#   sh instalar.sh
#
# Se puede repetir sin daño. Hace, en este orden, lo que README.md explica paso a paso:
#   1. la cuenta SFTP {{USERNAME}} (sin shell), con la que el {{INSTITUTE}} publica;
#   2. la jaula de esa cuenta, si sshd_config.txt la usa: de root, modo 0755;
#   3. la carpeta {{APPLY_DIR}}, de {{USERNAME}}, modo 0755: ahí el {{INSTITUTE}} escribe releases/<corte>/
#      y cambia current (no hay prep-apply: la publicación llega completa);
#   4. la llave pública del {{INSTITUTE}} para {{USERNAME}} en {{KEYS_DIR}}/{{USERNAME}}, de root.
# No toca sshd ni el servidor web: esos pasos (README.md) los revisa y aplica usted.
#
# La carpeta de la llave se puede cambiar al invocarlo, por ejemplo:
#   DESTINO_LLAVES=/etc/ssh/llaves sh instalar.sh

set -eu
umask 022

INSTITUTO='{{INSTITUTE}}'
CUENTA_SFTP='{{USERNAME}}'
CARPETA='{{APPLY_DIR}}'
CARPETA_VISTA='{{REMOTE_DIR}}'
JAULA='{{CHROOT}}'
CON_CONTRASENA='{{SFTP_PASSWORD}}'
LLAVES_POR_OMISION='{{KEYS_DIR}}'
DESTINO_LLAVES=${DESTINO_LLAVES:-$LLAVES_POR_OMISION}

paso() { printf '== %s\n' "$1"; }
nota() { printf 'instalar.sh: %s\n' "$1" >&2; }
alto() { nota "$1"; exit 1; }

[ "$(id -u)" = 0 ] || alto 'ejecútelo como root (sudo sh instalar.sh)'
KIT=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
SIN_SHELL=$(command -v nologin || true)
[ -n "$SIN_SHELL" ] || SIN_SHELL=/bin/false

paso "1. Cuenta SFTP $CUENTA_SFTP, con la que el $INSTITUTO publica"
if ! id -u "$CUENTA_SFTP" > /dev/null 2>&1; then
  useradd --system --user-group --no-create-home --home-dir "$CARPETA_VISTA" --shell "$SIN_SHELL" "$CUENTA_SFTP"
  # Sin contraseña, pero no bloqueada: sshd la deja entrar con la llave del instituto.
  if [ "$CON_CONTRASENA" = 0 ]; then usermod -p '*' "$CUENTA_SFTP"; fi
fi
[ "$(id -u "$CUENTA_SFTP")" != 0 ] || alto "$CUENTA_SFTP no puede ser root"
GRUPO=$(id -gn "$CUENTA_SFTP")

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

paso "3. Carpeta $CARPETA: de $CUENTA_SFTP, modo 0755"
mkdir -p -- "$CARPETA"
chown "$CUENTA_SFTP:$GRUPO" "$CARPETA"
chmod 0755 "$CARPETA"

if [ -f "$KIT/authorized_keys" ]; then
  paso "4. Llave pública del $INSTITUTO para $CUENTA_SFTP: $DESTINO_LLAVES/$CUENTA_SFTP (de root)"
  install -d -o root -g root -m 0755 "$DESTINO_LLAVES"
  install -o root -g root -m 0644 "$KIT/authorized_keys" "$DESTINO_LLAVES/$CUENTA_SFTP"
else
  paso '4. Llave pública: este kit no la trae (lea README.md)'
fi

paso 'Listo. Siga con README.md: sshd_config.txt, y nginx.conf o apache.conf.'
