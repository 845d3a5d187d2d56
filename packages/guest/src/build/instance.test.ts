import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { instanceImageSizeMib, MASKED_UNITS } from './instance.ts';
import { ASSETS_DIR } from './paths.ts';

describe('instance base image inputs', () => {
  it('sizes the image to its content plus headroom', () => {
    assert.equal(instanceImageSizeMib(200 * 1048576), 250 + 256);
    assert.equal(instanceImageSizeMib(1), 1 + 256);
  });

  it('ships shell scripts that parse', () => {
    for (const script of [join(ASSETS_DIR, 'instance/aleph-instance-init.sh'), join(ASSETS_DIR, 'initramfs-init.sh')]) {
      execFileSync('sh', ['-n', script]);
    }
  });

  it('runs the seed reader before the network and SSH, from where the build installs it', () => {
    const unit = readFileSync(join(ASSETS_DIR, 'instance/aleph-instance-init.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/lib\/aleph\/aleph-instance-init$/m);
    assert.match(unit, /^Before=.*\bnetwork-pre\.target\b.*\bssh\.service\b/m);
    assert.match(unit, /^Type=oneshot$/m);
  });

  it('allows key logins only and keeps what it masks away from SSH and the seed reader', () => {
    const sshd = readFileSync(join(ASSETS_DIR, 'instance/sshd-aleph.conf'), 'utf8');
    assert.match(sshd, /^PermitRootLogin prohibit-password$/m);
    assert.match(sshd, /^PasswordAuthentication no$/m);
    for (const unit of MASKED_UNITS) assert.doesNotMatch(unit, /^(ssh|aleph|systemd-journald)/);
  });
});
