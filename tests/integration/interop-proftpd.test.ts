import { startProftpd, proftpdUnavailableReason } from '../helpers/proftpd.js';
test('starts', async () => {
  console.log(proftpdUnavailableReason());
  const t = Date.now();
  const f = await startProftpd({ chroot: true, fullDiskBytes: 256 * 1024 });
  console.log(Date.now() - t, f.port, f.hostKeys, f.fullDiskDir, f.fullDiskUnavailable);
  await f.stop();
});
