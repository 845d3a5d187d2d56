import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseQemuMemory, vmDirOfQemu } from './qemu-procs.ts';

// Trimmed from a real TCG microVM (128 MiB guest) on the build machine.
const SMAPS = `55971f4d1000-55971f8d8000 r--p 00000000 fe:00 2170913                    /usr/bin/qemu-system-x86_64
Size:               4124 kB
Rss:                4124 kB
Pss:                1031 kB
55974e3be000-55974ee7a000 rw-p 00000000 00:00 0                          [heap]
Size:              10992 kB
Rss:                4760 kB
Pss:                4760 kB
7f9e57e00000-7f9e5fe00000 rw-p 00000000 00:00 0 
Size:             131072 kB
Rss:              122880 kB
Pss:              122880 kB
7f9e64000000-7f9e649f3000 rw-p 00000000 00:00 0 
Size:              10188 kB
Rss:               10164 kB
Pss:               10164 kB
7f9e68000000-7f9ea7fff000 rwxp 00000000 00:00 0 
Size:            1048572 kB
Rss:               81920 kB
Pss:               81920 kB
`;
const ROLLUP = `55971f4d1000-7ffd5c9f2000 ---p 00000000 00:00 0                          [rollup]
Rss:              268364 kB
Pss:              255755 kB
`;

test('QEMU memory splits into guest RAM, TCG code cache and the rest', () => {
  const m = parseQemuMemory(42, ROLLUP, SMAPS, 128);
  assert.deepEqual(m, { pid: 42, rssKiB: 268364, pssKiB: 255755, guestRamRssKiB: 122880, guestRamPssKiB: 122880, tcgCodeCacheRssKiB: 81920 });
  // Another guest size finds no guest mapping rather than a wrong one.
  assert.equal(parseQemuMemory(42, ROLLUP, SMAPS, 512).guestRamRssKiB, 0);
});

test('the VM directory comes from the console path; probe guests are not workloads', () => {
  const argv = ['qemu-system-x86_64', '-chardev', 'file,id=console,path=/var/lib/crn/vm/vm-a,,b/console.log', '-append', 'console=ttyS0'];
  assert.equal(vmDirOfQemu(argv), '/var/lib/crn/vm/vm-a,b');
  assert.equal(vmDirOfQemu([...argv.slice(0, 4), 'console=ttyS0 aleph.probe=1']), undefined);
  assert.equal(vmDirOfQemu(['qemu-system-x86_64', '-M', 'microvm']), undefined);
});
