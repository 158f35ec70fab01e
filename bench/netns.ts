// A shaped uplink: a network namespace joined to this one by a veth pair with link-local
// addresses (169.254.0.0/16 never leaves the machine), and a tbf qdisc limiting what we send
// into it. Difusores' sshd run inside the namespace; prep-push and sftp stay outside.
import { execFileSync } from 'node:child_process';

export interface ShapedLink {
  netns: string;
  /** Address of the difusores' side, inside the namespace. */
  remoteHost: string;
  rateMbit: number;
  /** Kills nothing: stop the sshd inside first. Deletes the namespace (and with it the veth pair). */
  remove(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Throws with the reason when namespaces, veth or tbf are not permitted here. */
export function createShapedLink(rateMbit: number): ShapedLink {
  const tag = `${process.pid % 100000}`;
  const netns = `ppbench${tag}`;
  const outside = `ppb${tag}a`;
  const inside = `ppb${tag}b`;
  const [localHost, remoteHost] = ['169.254.77.1', '169.254.77.2'];
  const remove = (): void => {
    try {
      ip(['netns', 'del', netns]);
    } catch {
      // not there
    }
    try {
      ip(['link', 'del', outside]);
    } catch {
      // went with the namespace
    }
  };
  remove();
  try {
    ip(['netns', 'add', netns]);
    ip(['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
    ip(['link', 'set', inside, 'netns', netns]);
    ip(['addr', 'add', `${localHost}/30`, 'dev', outside]);
    ip(['link', 'set', outside, 'up']);
    ip(['netns', 'exec', netns, 'ip', 'addr', 'add', `${remoteHost}/30`, 'dev', inside]);
    ip(['netns', 'exec', netns, 'ip', 'link', 'set', inside, 'up']);
    ip(['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']);
    // Burst of ~4 ms at the rate (at least 64 KiB): enough for the timer, too little to flatter.
    const burstBytes = Math.max(65536, Math.round((rateMbit * 1e6) / 8 / 250));
    execFileSync(
      'tc',
      ['qdisc', 'add', 'dev', outside, 'root', 'tbf', 'rate', `${rateMbit}mbit`, 'burst', String(burstBytes), 'latency', '50ms'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (error) {
    remove();
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(stderr || (error as Error).message);
  }
  return { netns, remoteHost, rateMbit, remove };
}
