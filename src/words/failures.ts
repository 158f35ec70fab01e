// The contract's failure codes in Spanish words, with what to do about each: one table for the
// e-mails, the events and the report alike, so one copy pass fixes every text people read.

interface CodeWords {
  /** What happened, as a clause: "el servidor no respondió a tiempo". */
  what: string;
  /** What the difusor (or the institute's desk) should do. */
  todo: string;
}

const CODE_WORDS: Record<string, CodeWords> = {
  HOST_KEY_MISMATCH: {
    what: 'la llave del servidor no coincide con la registrada',
    todo: 'confirmen por teléfono con el Instituto si cambiaron o reinstalaron el servidor SFTP; si no, revisen que nadie intercepte la conexión',
  },
  AUTH_FAILED: {
    what: 'el servidor rechazó el acceso de la cuenta del Instituto',
    todo: 'revisen que la cuenta exista, esté habilitada y tenga instalada la llave pública del Instituto',
  },
  CONNECT_REFUSED: {
    what: 'el servidor rechazó la conexión (nada escucha en el puerto)',
    todo: 'revisen que el servicio SFTP esté encendido y escuche en el puerto acordado',
  },
  CONNECT_TIMEOUT: {
    what: 'el servidor no respondió a tiempo',
    todo: 'revisen que el servidor esté encendido, y que el cortafuegos permita la conexión desde la dirección del Instituto',
  },
  HOST_UNREACHABLE: {
    what: 'no se pudo llegar al servidor (nombre o red inalcanzable)',
    todo: 'revisen el nombre DNS, la dirección IP y la conexión a Internet del servidor',
  },
  PERMISSION_DENIED: {
    what: 'la cuenta del Instituto no tiene permiso de escribir en la carpeta de destino',
    todo: 'den permiso de escritura a la cuenta en la carpeta acordada',
  },
  NO_SPACE: {
    what: 'el disco del servidor está lleno',
    todo: 'liberen espacio en el disco (se requieren al menos 20 GB libres)',
  },
  CONNECTION_LOST: {
    what: 'la conexión se cortó durante el envío',
    todo: 'revisen la estabilidad de la red y del servicio SFTP',
  },
  TRANSFER_TIMEOUT: {
    what: 'el envío no terminó dentro del tiempo límite (conexión demasiado lenta)',
    todo: 'revisen el ancho de banda de subida del servidor (se requieren al menos 40 MB/s)',
  },
  VERIFY_FAILED: {
    what: 'el archivo recibido en el servidor no coincide con el enviado',
    todo: 'revisen el disco y el servicio SFTP del servidor',
  },
  REMOTE_DIR_MISSING: {
    what: 'la carpeta de destino no existe en el servidor',
    todo: 'creen la carpeta acordada con permiso de escritura para la cuenta del Instituto',
  },
  ROLLBACK_REFUSED: {
    what: 'el servidor ya tiene un corte más reciente que el enviado',
    todo: 'no se requiere acción del difusor; el Instituto revisará el envío',
  },
  SFTP_ERROR: {
    what: 'el servidor SFTP respondió con un error inesperado',
    todo: 'revisen los registros del servicio SFTP',
  },
};

const UNKNOWN_WORDS: CodeWords = {
  what: 'ocurrió un error no clasificado',
  todo: 'revisen el servidor y comuníquense con el Instituto',
};

/** What happened, in words, without the code: "el servidor no respondió a tiempo". */
export function failureInWords(code: string): string {
  return (CODE_WORDS[code] ?? UNKNOWN_WORDS).what;
}

/** The code in words, with the code itself for whoever searches logs: "el servidor no respondió a tiempo (CONNECT_TIMEOUT)". */
export function describeFailure(code: string): string {
  return `${failureInWords(code)} (${code})`;
}

export function whatToDo(code: string): string {
  return (CODE_WORDS[code] ?? UNKNOWN_WORDS).todo;
}
