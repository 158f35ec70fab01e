// The public half of the key prep-push logs in to a difusor with, for the kit's authorized_keys line:
// derived from the private key with the parser the SFTP connection uses (what `ssh-keygen -y` prints),
// else read from the `.pub` file beside it. Pure: bytes in, `TYPE BASE64` out.
import ssh2 from 'ssh2';

const PUBLIC_LINE = /^((?:ssh|ecdsa|sk-ssh|sk-ecdsa)-[A-Za-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})(?:\s|$)/;

/** `TYPE BASE64` of the key in OpenSSH private key bytes; undefined when they do not parse (or are locked). */
export function publicKeyOfPrivateKey(data: Buffer, passphrase?: string): string | undefined {
  const parsed = ssh2.utils.parseKey(data, passphrase);
  if (parsed instanceof Error) return undefined;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) return undefined;
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}

/** `TYPE BASE64` from the text of a `.pub` file (its first line); undefined when it holds none. */
export function publicKeyOfPubFile(text: string): string | undefined {
  const match = PUBLIC_LINE.exec(text.split('\n', 1)[0].trim());
  return match ? `${match[1]} ${match[2]}` : undefined;
}
