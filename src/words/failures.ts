// The contract's failure codes in Spanish words, with what to do about each: one table for the
// e-mails, the events and the report alike, so one copy pass fixes every text people read.
// Register: usted ("revise"), the institute with its article ("la cuenta del IEM").
import { instituteWords, type InstituteWords } from './institute.js';

interface CodeWords {
  /** What happened, as a clause without parentheses: "el servidor no respondió a tiempo". */
  what: (i: InstituteWords) => string;
  /** What the difusor (or the institute's desk) should do, as a clause: "revise que…". */
  todo: (i: InstituteWords) => string;
}

const CODE_WORDS: Record<string, CodeWords> = {
  HOST_KEY_MISMATCH: {
    what: () => 'la llave del servidor no coincide con la registrada',
    todo: (i) => `confirme por teléfono con ${i.el} si cambió o reinstaló el servidor SFTP; si no fue así, revise que nadie intercepte la conexión`,
  },
  AUTH_FAILED: {
    what: (i) => `el servidor rechazó el acceso de la cuenta ${i.del}`,
    todo: (i) => `revise que la cuenta exista, esté habilitada y tenga instalada la llave pública ${i.del}`,
  },
  CONNECT_REFUSED: {
    what: () => 'el servidor rechazó la conexión: ningún servicio escucha en el puerto',
    todo: () => 'revise que el servicio SFTP esté encendido y escuche en el puerto acordado',
  },
  CONNECT_TIMEOUT: {
    what: () => 'el servidor no respondió a tiempo',
    todo: (i) => `revise que el servidor esté encendido y que el cortafuegos permita la conexión desde la dirección ${i.del}`,
  },
  HOST_UNREACHABLE: {
    what: () => 'no se pudo llegar al servidor: su nombre no se resuelve o su red no es alcanzable',
    todo: () => 'revise el nombre DNS, la dirección IP y la conexión a Internet del servidor',
  },
  PERMISSION_DENIED: {
    what: (i) => `la cuenta ${i.del} no tiene permiso de escribir en la carpeta de destino`,
    todo: (i) => `dé permiso de escritura a la cuenta ${i.del} en la carpeta acordada`,
  },
  NO_SPACE: {
    what: () => 'el disco del servidor está lleno',
    todo: () => 'libere espacio en el disco; la convocatoria pide al menos 20 GB libres',
  },
  CONNECTION_LOST: {
    what: () => 'la conexión se cortó durante el envío',
    todo: () => 'revise la estabilidad de la red y del servicio SFTP',
  },
  TRANSFER_TIMEOUT: {
    what: () => 'el envío no terminó dentro del tiempo límite: la conexión es demasiado lenta',
    todo: () => 'revise el ancho de banda del servidor; la convocatoria pide al menos 40 MB/s por SFTP',
  },
  VERIFY_FAILED: {
    what: () => 'el archivo recibido en el servidor no coincide con el enviado',
    todo: () => 'revise el disco y el servicio SFTP del servidor',
  },
  REMOTE_DIR_MISSING: {
    what: () => 'la carpeta de destino no existe en el servidor',
    todo: (i) => `cree la carpeta acordada, con permiso de escritura para la cuenta ${i.del}`,
  },
  ROLLBACK_REFUSED: {
    what: () => 'el servidor ya tiene un corte más reciente que el enviado',
    todo: (i) => `no se requiere acción del difusor; ${i.el} revisará el envío`,
  },
  SFTP_ERROR: {
    what: () => 'el servidor SFTP respondió con un error inesperado',
    todo: () => 'revise los registros del servicio SFTP',
  },
};

const UNKNOWN_WORDS: CodeWords = {
  what: () => 'ocurrió un error no clasificado',
  todo: (i) => `revise el servidor y comuníquese con ${i.el}`,
};

/** What happened, in words, without the code: "el servidor no respondió a tiempo". */
export function failureInWords(code: string, institute?: string): string {
  return (CODE_WORDS[code] ?? UNKNOWN_WORDS).what(instituteWords(institute));
}

/**
 * The code in words, with the code at the end for whoever searches logs:
 * "el servidor no respondió a tiempo (código CONNECT_TIMEOUT)".
 */
export function describeFailure(code: string, institute?: string): string {
  return `${failureInWords(code, institute)} (código ${code})`;
}

/** What to do about it, as a clause in usted: "revise que el servidor esté encendido…". */
export function whatToDo(code: string, institute?: string): string {
  return (CODE_WORDS[code] ?? UNKNOWN_WORDS).todo(instituteWords(institute));
}
